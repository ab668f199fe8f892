// Package act applies remediation plans. It is the only code in ksdoctor
// that changes a node: each diag.StepKind has one handler; steps that touch
// independent objects (containers, images, pods) run concurrently with a
// bound, and transactional plans roll back the steps already done when one
// fails.
package act
