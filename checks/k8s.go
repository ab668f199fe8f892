package checks

import (
	"cmp"
	"crypto/x509"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

// maxRows caps the per-object rows of an evidence table; the rest is
// counted, and remediation previews still list every object.
const maxRows = 100

// clusterFacts returns the gathered cluster facts, or an error naming the
// facts that could not be read for area.
func clusterFacts(s *diag.Snapshot, area string) (*diag.ClusterFacts, error) {
	c := s.Cluster
	if c == nil {
		return nil, diag.Skip("no cluster facts in this snapshot")
	}
	if reason, ok := c.Partial[area]; ok {
		return nil, fmt.Errorf("cluster %s could not be read: %s", area, reason)
	}
	return c, nil
}

// ---------------------------------------------------------------------------
// k8s.evicted-pods

// K8sEvictedPods reports evicted pods left behind.
var K8sEvictedPods = diag.Check{
	ID:    "k8s.evicted-pods",
	Title: "Evicted pods left behind",
	Doc: `Pods evicted by kubelet (node pressure: DiskPressure, MemoryPressure, ...)
stay as Failed objects with reason Evicted until deleted: the controller
has already replaced them, but they clutter every listing, hold their
names and are collected only past the controller manager's
--terminated-pod-gc-threshold (12,500). The check lists them across all
namespaces in one paginated List with the server-side field selector
status.phase=Failed (Evicted is a reason, not a phase), grouped by
namespace and node with the eviction message. The delete remediation
removes exactly the previewed pods, each with a UID precondition so a pod
recreated under the same name is never deleted; the eviction's cause (the
node condition) is reported by k8s.node-conditions.`,
	Needs: []diag.Source{diag.SourceCluster},
	Run:   runEvictedPods,
}

func evictedPods(c *diag.ClusterFacts) []diag.PodFacts {
	var out []diag.PodFacts
	for _, p := range c.FailedPods {
		if p.Phase == "Failed" && p.Reason == "Evicted" {
			out = append(out, p)
		}
	}
	return out
}

// conditionRe finds the node conditions named in an eviction message:
// "The node had condition: [DiskPressure]." or "The node was low on resource: memory."
var conditionRe = regexp.MustCompile(`condition: \[([A-Za-z, ]+)\]`)

func runEvictedPods(s *diag.Snapshot, _ *diag.Config) ([]diag.Finding, error) {
	c, err := clusterFacts(s, diag.ClusterAreaPods)
	if err != nil {
		return nil, err
	}
	pods := evictedPods(c)
	if len(pods) == 0 {
		return nil, nil
	}
	type group struct {
		ns, node string
		n        int
		oldest   time.Time
		messages map[string]int
	}
	groups := map[[2]string]*group{}
	var causes []string
	for _, p := range pods {
		k := [2]string{p.Namespace, p.Node}
		g := groups[k]
		if g == nil {
			g = &group{ns: p.Namespace, node: p.Node, messages: map[string]int{}}
			groups[k] = g
		}
		g.n++
		if t := podTime(p); g.oldest.IsZero() || t.Before(g.oldest) {
			g.oldest = t
		}
		g.messages[strings.TrimSpace(p.Message)]++
		if p.Node != "" && conditionRe.MatchString(p.Message) {
			id := "k8s.node-conditions/" + p.Node
			if !slices.Contains(causes, id) {
				causes = append(causes, id)
			}
		}
	}
	keys := make([][2]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		if x := cmp.Compare(groups[b].n, groups[a].n); x != 0 {
			return x
		}
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	})
	byGroup := &diag.Table{Columns: []string{"NAMESPACE", "NODE", "PODS", "OLDEST", "MESSAGE"}}
	namespaces := map[string]bool{}
	for _, k := range keys {
		g := groups[k]
		namespaces[g.ns] = true
		byGroup.Rows = append(byGroup.Rows, []string{g.ns, orDash(g.node), strconv.Itoa(g.n), age(s.Now(), g.oldest), topMessage(g.messages)})
	}
	podRows := &diag.Table{Columns: []string{"NAMESPACE", "POD", "NODE", "AGE", "MESSAGE"}}
	for i, p := range pods {
		if i == maxRows {
			podRows.Rows = append(podRows.Rows, []string{"…", fmt.Sprintf("and %d more", len(pods)-maxRows), "", "", ""})
			break
		}
		podRows.Rows = append(podRows.Rows, []string{p.Namespace, p.Name, orDash(p.Node), age(s.Now(), podTime(p)), p.Message})
	}
	slices.Sort(causes)
	f := diag.Finding{
		Severity: diag.Warning,
		Title:    fmt.Sprintf("%s in %s", plural(len(pods), "evicted pod", "evicted pods"), plural(len(namespaces), "namespace", "namespaces")),
		Summary: fmt.Sprintf("%s evicted by kubelet under node pressure remain as Failed objects; their controllers have replaced them.",
			plural(len(pods), "pod", "pods")),
		Explanation: "Evicted pods are not restarted and are garbage-collected only above the controller manager's " +
			"terminated-pod threshold (12,500). Delete them after looking at why the node evicted them (see the node conditions).",
		Evidence: []diag.Evidence{
			{Label: "By namespace and node", Table: byGroup},
			{Label: "Evicted pods", Table: podRows},
		},
		CausedBy:     causes,
		Remediations: []diag.Remediation{deletePodsRemediation("k8s.evicted-pods/delete", pods)},
	}
	return []diag.Finding{f}, nil
}

func podTime(p diag.PodFacts) time.Time {
	if !p.StartedAt.IsZero() {
		return p.StartedAt
	}
	return p.CreatedAt
}

func topMessage(m map[string]int) string {
	best, n := "", -1
	for msg, c := range m {
		if c > n || (c == n && msg < best) {
			best, n = msg, c
		}
	}
	if len(m) > 1 {
		best += fmt.Sprintf(" (+%d other messages)", len(m)-1)
	}
	return best
}

func deletePodsRemediation(id string, pods []diag.PodFacts) diag.Remediation {
	var b strings.Builder
	fmt.Fprintf(&b, "Delete %s through the Kubernetes API:\n", plural(len(pods), "evicted pod", "evicted pods"))
	byNS := map[string][]string{}
	var nss []string
	for _, p := range pods {
		if _, ok := byNS[p.Namespace]; !ok {
			nss = append(nss, p.Namespace)
		}
		byNS[p.Namespace] = append(byNS[p.Namespace], p.Name)
	}
	sort.Strings(nss)
	for _, ns := range nss {
		fmt.Fprintf(&b, "  %s: %s\n", ns, strings.Join(byNS[ns], " "))
	}
	b.WriteString("Each pod is deleted only if it still has the UID seen now: a pod recreated under the same name is left alone. " +
		"Deletes run concurrently with a bound; the result counts deleted, already gone and failed. Needs permission to delete pods.")
	steps := make([]diag.Step, 0, len(pods))
	for _, p := range pods {
		steps = append(steps, diag.Step{
			Kind:        diag.StepDeletePod,
			Description: fmt.Sprintf("delete pod %s/%s (uid %s)", p.Namespace, p.Name, p.UID),
			Pod:         &diag.PodTarget{Namespace: p.Namespace, Name: p.Name, UID: p.UID},
		})
	}
	return diag.Remediation{
		ID:      id,
		Title:   "Delete " + plural(len(pods), "evicted pod", "evicted pods"),
		Risk:    diag.RiskLow,
		Preview: b.String(),
		Plan:    diag.Plan{Steps: steps},
	}
}

// ---------------------------------------------------------------------------
// k8s.crashloop-pods

// K8sCrashLoopPods reports containers waiting in CrashLoopBackOff.
var K8sCrashLoopPods = diag.Check{
	ID:    "k8s.crashloop-pods",
	Title: "Pods in CrashLoopBackOff",
	Doc: `A container that keeps exiting is restarted by kubelet with a growing
back-off and shows state.waiting.reason CrashLoopBackOff; the pod's phase
stays Running, so only the container statuses reveal it. Evidence: restart
count, the last termination's reason and exit code (137 = killed, often
OOMKilled; 1 = the program failed) and the owner. The restart remediation
deletes the pods so their controllers recreate them; it is not offered for
bare pods (nothing would recreate them) and rarely cures the cause: read the
container's previous logs (kubectl logs --previous) first.`,
	Needs: []diag.Source{diag.SourceCluster},
	Run:   runCrashLoopPods,
}

func runCrashLoopPods(s *diag.Snapshot, _ *diag.Config) ([]diag.Finding, error) {
	c, err := clusterFacts(s, diag.ClusterAreaPods)
	if err != nil {
		return nil, err
	}
	if len(c.CrashLoopPods) == 0 {
		return nil, nil
	}
	t := &diag.Table{Columns: []string{"NAMESPACE", "POD", "CONTAINER", "RESTARTS", "LAST EXIT", "OWNER", "NODE"}}
	var owned []diag.PodFacts
	bare := 0
	for _, p := range c.CrashLoopPods {
		if p.Owner != "" {
			owned = append(owned, p)
		} else {
			bare++
		}
		for _, ct := range p.Containers {
			if ct.WaitingReason != "CrashLoopBackOff" {
				continue
			}
			if len(t.Rows) == maxRows {
				t.Rows = append(t.Rows, []string{"…", "more not shown", "", "", "", "", ""})
				break
			}
			last := "-"
			if ct.LastReason != "" || ct.LastExitCode != 0 {
				last = fmt.Sprintf("%s (exit %d)", orDash(ct.LastReason), ct.LastExitCode)
			}
			name := ct.Name
			if ct.Init {
				name += " (init)"
			}
			t.Rows = append(t.Rows, []string{p.Namespace, p.Name, name, strconv.Itoa(int(ct.RestartCount)), last, orDash(p.Owner), orDash(p.Node)})
		}
	}
	f := diag.Finding{
		Severity: diag.Warning,
		Title:    fmt.Sprintf("%s in CrashLoopBackOff", plural(len(c.CrashLoopPods), "pod", "pods")),
		Summary: fmt.Sprintf("%s keep crashing and are restarted with a growing back-off.",
			plural(len(c.CrashLoopPods), "pod has containers that", "pods have containers that")),
		Explanation: "Look at the last termination: exit 137 with OOMKilled means the memory limit is too low; exit 1 means the " +
			"program failed (kubectl logs --previous shows why); a missing ConfigMap, Secret or dependency is the usual cause. " +
			"Recreating the pod rarely helps.",
		Evidence: []diag.Evidence{{Label: "Crashing containers", Table: t}},
	}
	if bare > 0 {
		f.Evidence = append(f.Evidence, diag.Evidence{Label: "Bare pods (no controller; not restarted by the remediation)", Value: strconv.Itoa(bare)})
	}
	if len(owned) > 0 {
		r := deletePodsRemediation("k8s.crashloop-pods/restart", owned)
		r.Title = "Recreate " + plural(len(owned), "crash-looping pod", "crash-looping pods") + " through their controllers"
		r.Risk = diag.RiskMedium
		r.Preview = "This rarely cures the cause: a pod that crashes will crash again once recreated. Read its previous logs first.\n" +
			strings.Replace(r.Preview, "evicted pod", "crash-looping pod", 1) +
			"\nOnly pods with a controller are deleted (the controller recreates them); bare pods are left alone."
		for i := range r.Plan.Steps {
			r.Plan.Steps[i].Description = strings.Replace(r.Plan.Steps[i].Description, "delete pod", "recreate pod", 1)
		}
		f.Remediations = []diag.Remediation{r}
	}
	return []diag.Finding{f}, nil
}

// ---------------------------------------------------------------------------
// k8s.ingress-tls

// K8sIngressTLS reports Ingress hosts served a wrong, expired or default
// certificate.
var K8sIngressTLS = diag.Check{
	ID:    "k8s.ingress-tls",
	Title: "Ingress TLS certificates that do not fit their hosts",
	Doc: `For every host of every networking.k8s.io/v1 Ingress with a TLS section,
works out which certificate ingress-nginx serves, as it does: Ingresses
oldest first, the oldest Ingress with a usable certificate for a host wins;
within an Ingress the secret listed for the exact host, else any listed
secret whose certificate verifies the host (crypto/x509 VerifyHostname,
wildcards included). A host whose secret is missing, not a TLS secret,
unparseable, has a key that does not match, or a certificate that does not
cover it (the seed's case: one secret listed for two hosts, covering one)
is served the controller's default "Kubernetes Ingress Controller Fake
Certificate" and is named. Expired and not-yet-valid certificates are
critical, certificates expiring within cluster.certExpiryDays (14) a
warning, and a host claimed by several Ingresses with different secrets a
warning. Only public certificate facts are gathered; private keys never
reach the snapshot or the report.`,
	Needs: []diag.Source{diag.SourceCluster},
	Run:   runIngressTLS,
}

// tlsRef is one Ingress TLS entry that may serve a host.
type tlsRef struct {
	ing    *diag.IngressFacts
	secret string // secret name in ing's namespace
	exact  bool   // the host is listed in this entry's hosts
}

// secretVerdict is what a secret means for one host.
type secretVerdict struct {
	usable bool   // ingress-nginx would serve it for the host
	why    string // why it is not usable
	leaf   *diag.CertFacts
}

func judgeSecret(c *diag.ClusterFacts, ns, name, host string) secretVerdict {
	sec := c.TLSSecrets[ns+"/"+name]
	switch {
	case sec == nil || !sec.Found:
		return secretVerdict{why: fmt.Sprintf("secret %s/%s does not exist", ns, name)}
	case sec.Error != "":
		return secretVerdict{why: fmt.Sprintf("secret %s/%s: %s", ns, name, sec.Error)}
	case sec.KeyError != "":
		return secretVerdict{why: fmt.Sprintf("secret %s/%s: %s", ns, name, sec.KeyError), leaf: sec.Leaf()}
	}
	leaf := sec.Leaf()
	if err := verifyHost(leaf, host); err != nil {
		return secretVerdict{why: fmt.Sprintf("secret %s/%s: certificate (%s) does not cover %s", ns, name, certNames(leaf), host), leaf: leaf}
	}
	return secretVerdict{usable: true, leaf: leaf}
}

// verifyHost runs crypto/x509's host verification on the recorded
// certificate. A wildcard host ("*.example.com") in a rule is covered by the
// same wildcard in the certificate.
func verifyHost(leaf *diag.CertFacts, host string) error {
	if leaf == nil {
		return fmt.Errorf("no certificate")
	}
	if strings.HasPrefix(host, "*.") {
		for _, n := range leaf.DNSNames {
			if strings.EqualFold(n, host) {
				return nil
			}
		}
		return fmt.Errorf("wildcard host %s not in the certificate", host)
	}
	cert, err := x509.ParseCertificate(leaf.DER)
	if err != nil {
		// Replayed facts without DER: fall back to the recorded names.
		return verifyNames(leaf, host)
	}
	return cert.VerifyHostname(host)
}

func verifyNames(leaf *diag.CertFacts, host string) error {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	for _, n := range leaf.DNSNames {
		n = strings.ToLower(n)
		if n == h {
			return nil
		}
		if strings.HasPrefix(n, "*.") {
			if i := strings.IndexByte(h, '.'); i > 0 && h[i:] == n[1:] {
				return nil
			}
		}
	}
	if slices.Contains(leaf.IPs, host) {
		return nil
	}
	return fmt.Errorf("%s not in %v", host, leaf.DNSNames)
}

func certNames(leaf *diag.CertFacts) string {
	if leaf == nil {
		return "none"
	}
	names := slices.Concat(leaf.DNSNames, leaf.IPs)
	if len(names) == 0 {
		return "no subject alternative names, subject " + leaf.Subject
	}
	return "names " + strings.Join(names, ", ")
}

func runIngressTLS(s *diag.Snapshot, cfg *diag.Config) ([]diag.Finding, error) {
	c, err := clusterFacts(s, diag.ClusterAreaIngresses)
	if err != nil {
		return nil, err
	}
	if reason, ok := c.Partial[diag.ClusterAreaSecrets]; ok {
		return nil, fmt.Errorf("the TLS secrets the Ingresses name could not be read: %s", reason)
	}
	// Oldest first, as ingress-nginx processes them.
	ings := make([]*diag.IngressFacts, 0, len(c.Ingresses))
	for i := range c.Ingresses {
		if len(c.Ingresses[i].TLS) > 0 {
			ings = append(ings, &c.Ingresses[i])
		}
	}
	slices.SortStableFunc(ings, func(a, b *diag.IngressFacts) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	// host → candidate entries, in ingress order; an Ingress contributes
	// its exact entry for the host, else every entry (checked by verify).
	type cand struct {
		ing  *diag.IngressFacts
		refs []tlsRef
	}
	hosts := map[string][]cand{}
	var order []string
	for _, ing := range ings {
		var hs []string
		for _, t := range ing.TLS {
			for _, h := range t.Hosts {
				if h != "" && !slices.Contains(hs, h) {
					hs = append(hs, h)
				}
			}
		}
		for _, h := range ing.RuleHosts {
			if !slices.Contains(hs, h) {
				hs = append(hs, h)
			}
		}
		for _, h := range hs {
			var refs []tlsRef
			for _, t := range ing.TLS {
				if t.SecretName != "" && slices.Contains(t.Hosts, h) {
					refs = []tlsRef{{ing: ing, secret: t.SecretName, exact: true}}
					break
				}
			}
			if refs == nil {
				for _, t := range ing.TLS {
					if t.SecretName != "" {
						refs = append(refs, tlsRef{ing: ing, secret: t.SecretName})
					}
				}
			}
			if _, ok := hosts[h]; !ok {
				order = append(order, h)
			}
			hosts[h] = append(hosts[h], cand{ing: ing, refs: refs})
		}
	}
	sort.Strings(order)
	warnBefore := s.Now().Add(time.Duration(cfg.Cluster.CertExpiryDays) * 24 * time.Hour)
	var out []diag.Finding
	for _, h := range order {
		cands := hosts[h]
		var served *secretVerdict
		var servedBy tlsRef
		var problems []string
		table := &diag.Table{Columns: []string{"INGRESS", "CREATED", "SECRET", "LISTED FOR HOST", "VERDICT"}}
		secretsSeen := map[string]bool{}
		for _, cd := range cands {
			ingName := cd.ing.Namespace + "/" + cd.ing.Name
			if len(cd.refs) == 0 {
				table.Rows = append(table.Rows, []string{ingName, cd.ing.CreatedAt.Format(time.RFC3339), "-", "no", "TLS section names no secret"})
				continue
			}
			for _, r := range cd.refs {
				secretsSeen[cd.ing.Namespace+"/"+r.secret] = true
				v := judgeSecret(c, cd.ing.Namespace, r.secret, h)
				verdict := "covers the host"
				switch {
				case served != nil && v.usable:
					verdict = "covers the host, ignored: an older Ingress wins"
				case served != nil:
					verdict = "ignored: an older Ingress wins; " + v.why
				case v.usable:
					verdict = "covers the host: served"
					served, servedBy = &v, r
				default:
					verdict = v.why
					if r.exact {
						problems = append(problems, fmt.Sprintf("Ingress %s lists %s for %s, but %s", ingName, r.secret, h, v.why))
					}
				}
				table.Rows = append(table.Rows, []string{ingName, cd.ing.CreatedAt.Format(time.RFC3339), r.secret, yesNo(r.exact), verdict})
			}
		}
		f := diag.Finding{ID: "k8s.ingress-tls/" + h, Evidence: []diag.Evidence{{Label: "Host", Value: h}, {Label: "Ingress TLS for this host (oldest first)", Table: table}}}
		switch {
		case served == nil:
			f.Severity = diag.Critical
			f.Title = fmt.Sprintf("%s is served the ingress controller's fake certificate", h)
			f.Summary = fmt.Sprintf("No Ingress TLS secret usable for %s: clients get the controller's default \"Kubernetes Ingress Controller Fake Certificate\" and refuse the connection.", h)
			if len(problems) == 0 {
				problems = append(problems, fmt.Sprintf("no secret listed in the Ingresses of %s has a certificate covering it", h))
			}
		default:
			leaf := served.leaf
			f.Evidence = append(f.Evidence, certEvidence(servedBy.ing.Namespace+"/"+servedBy.secret, leaf)...)
			if sec := c.TLSSecrets[servedBy.ing.Namespace+"/"+servedBy.secret]; sec != nil && sec.Type != "" && sec.Type != "kubernetes.io/tls" {
				problems = append(problems, fmt.Sprintf("secret %s/%s has type %s, not kubernetes.io/tls: tools that expect TLS secrets (cert-manager, the dashboard) will not treat it as one", sec.Namespace, sec.Name, sec.Type))
			}
			switch {
			case s.Now().After(leaf.NotAfter):
				f.Severity = diag.Critical
				f.Title = fmt.Sprintf("%s is served an expired certificate", h)
				f.Summary = fmt.Sprintf("The certificate in %s/%s for %s expired %s ago (%s).", servedBy.ing.Namespace, servedBy.secret, h, age(s.Now(), leaf.NotAfter), leaf.NotAfter.Format(time.RFC3339))
			case s.Now().Before(leaf.NotBefore):
				f.Severity = diag.Critical
				f.Title = fmt.Sprintf("%s is served a certificate that is not valid yet", h)
				f.Summary = fmt.Sprintf("The certificate in %s/%s for %s is valid only from %s.", servedBy.ing.Namespace, servedBy.secret, h, leaf.NotBefore.Format(time.RFC3339))
			case warnBefore.After(leaf.NotAfter):
				f.Severity = diag.Warning
				f.Title = fmt.Sprintf("The certificate of %s expires in %s", h, leaf.NotAfter.Sub(s.Now()).Round(time.Hour))
				f.Summary = fmt.Sprintf("The certificate in %s/%s for %s expires %s, within %d days.", servedBy.ing.Namespace, servedBy.secret, h, leaf.NotAfter.Format(time.RFC3339), cfg.Cluster.CertExpiryDays)
			case len(secretsSeen) > 1 && len(cands) > 1:
				f.Severity = diag.Warning
				f.Title = fmt.Sprintf("%s is in %d Ingresses with different TLS secrets", h, len(cands))
				f.Summary = fmt.Sprintf("ingress-nginx serves %s/%s from the oldest Ingress, %s; the other Ingresses' TLS for %s is ignored.",
					servedBy.ing.Namespace, servedBy.secret, servedBy.ing.Namespace+"/"+servedBy.ing.Name, h)
			case len(problems) > 0:
				f.Severity = diag.Warning
				f.Title = fmt.Sprintf("The TLS secret of %s has a problem", h)
				f.Summary = fmt.Sprintf("%s is served %s/%s, but: %s.", h, servedBy.ing.Namespace, servedBy.secret, problems[0])
			default:
				continue
			}
		}
		if len(problems) > 0 {
			f.Evidence = append(f.Evidence, diag.Evidence{Label: "Problems", Value: strings.Join(problems, "\n")})
		}
		f.Explanation = "ingress-nginx picks, per host, the oldest Ingress whose TLS secret exists, parses, matches its key and covers the host; " +
			"otherwise it serves its default fake certificate. Fix the secret (a certificate whose SANs include the host, e.g. from cert-manager), " +
			"or list the host under a TLS entry whose secret covers it."
		out = append(out, f)
	}
	return out, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func certEvidence(secret string, leaf *diag.CertFacts) []diag.Evidence {
	if leaf == nil {
		return nil
	}
	return []diag.Evidence{
		{Label: "Served secret", Value: secret},
		{Label: "Certificate", Value: fmt.Sprintf("subject %s; %s; issuer %s", leaf.Subject, certNames(leaf), leaf.Issuer)},
		{Label: "Valid", Value: fmt.Sprintf("%s to %s", leaf.NotBefore.Format(time.RFC3339), leaf.NotAfter.Format(time.RFC3339))},
	}
}

// ---------------------------------------------------------------------------
// devops.jenkins-casc-stale

// DevopsJenkinsCascStale reports a Jenkins that runs an older CasC
// configuration than its ConfigMap holds.
var DevopsJenkinsCascStale = diag.Check{
	ID:    "devops.jenkins-casc-stale",
	Title: "KubeSphere DevOps Jenkins runs a stale configuration-as-code",
	Doc: `KubeSphere DevOps keeps Jenkins' configuration-as-code (agent pod templates
and their images) in the ConfigMap jenkins-casc-config of
kubesphere-devops-system. After an edit, Jenkins keeps the old configuration
until it reloads: the mounted file refreshes only after kubelet's sync (never
for subPath mounts) and the reload may not happen. The check compares the
ConfigMap's last change (its managedFields time) with the start time of the
running devops-jenkins pods; evidence lists the agent images named in the
ConfigMap and the images the Jenkins pod runs. The restart remediation does
what the KubeSphere docs say, 'kubectl rollout restart deployment
devops-jenkins': it stamps kubectl.kubernetes.io/restartedAt on the pod
template. Jenkins is down for a few minutes and running builds are
interrupted. Skipped on clusters without KubeSphere DevOps.`,
	Needs: []diag.Source{diag.SourceCluster},
	Run:   runJenkinsCascStale,
}

func runJenkinsCascStale(s *diag.Snapshot, _ *diag.Config) ([]diag.Finding, error) {
	c, err := clusterFacts(s, diag.ClusterAreaJenkins)
	if err != nil {
		return nil, err
	}
	j := c.Jenkins
	switch {
	case j == nil:
		return nil, diag.Skip("KubeSphere DevOps is not installed: no jenkins-casc-config ConfigMap or devops-jenkins Deployment in kubesphere-devops-system")
	case !j.ConfigMapFound:
		return nil, diag.Skip("no ConfigMap jenkins-casc-config in %s", j.Namespace)
	case !j.DeploymentFound:
		return nil, diag.Skip("no Deployment devops-jenkins in %s", j.Namespace)
	}
	var stale []diag.PodFacts
	for _, p := range j.Pods {
		if t := podTime(p); !t.IsZero() && t.Before(j.ConfigChangedAt) {
			stale = append(stale, p)
		}
	}
	if len(stale) == 0 {
		return nil, nil
	}
	pods := &diag.Table{Columns: []string{"POD", "STARTED", "IMAGES"}}
	for _, p := range stale {
		var imgs []string
		for _, ct := range p.Containers {
			imgs = append(imgs, ct.Image)
		}
		pods.Rows = append(pods.Rows, []string{p.Name, podTime(p).Format(time.RFC3339), strings.Join(imgs, ", ")})
	}
	f := diag.Finding{
		Severity: diag.Warning,
		Title:    "Jenkins started before its configuration-as-code changed",
		Summary: fmt.Sprintf("jenkins-casc-config changed %s (by %s), after the running devops-jenkins pod started %s: Jenkins may still use the old agent templates and images.",
			j.ConfigChangedAt.Format(time.RFC3339), orDash(j.ConfigChangedBy), podTime(stale[0]).Format(time.RFC3339)),
		Explanation: "Jenkins reads configuration-as-code at start or on an explicit reload; a ConfigMap edit alone does not reach a running Jenkins reliably. " +
			"Restart the devops-jenkins Deployment (kubectl -n kubesphere-devops-system rollout restart deployment devops-jenkins) when no important build runs.",
		Evidence: []diag.Evidence{
			{Label: "ConfigMap changed", Value: fmt.Sprintf("%s by %s", j.ConfigChangedAt.Format(time.RFC3339), orDash(j.ConfigChangedBy))},
			{Label: "Agent images in jenkins-casc-config", Value: orDash(strings.Join(j.ConfigImages, "\n"))},
			{Label: "Running devops-jenkins pods started before the change", Table: pods},
		},
	}
	restarted, _ := time.Parse(time.RFC3339, j.RestartedAt)
	if !restarted.IsZero() && !restarted.Before(j.ConfigChangedAt) {
		f.Severity = diag.Info
		f.Title = "Jenkins restart requested, old pod still running"
		f.Summary = fmt.Sprintf("A rollout restart of devops-jenkins was requested at %s, after the configuration changed; the old pod is still running.", j.RestartedAt)
		f.Evidence = append(f.Evidence, diag.Evidence{Label: "Restart requested", Value: j.RestartedAt})
		return []diag.Finding{f}, nil
	}
	stamp := s.Now().UTC().Format(time.RFC3339)
	f.Remediations = []diag.Remediation{{
		ID:    "devops.jenkins-casc-stale/restart",
		Title: "Rollout restart the devops-jenkins Deployment",
		Risk:  diag.RiskMedium,
		Preview: fmt.Sprintf("Rollout restart Deployment %s/%s as 'kubectl rollout restart' does: set the pod template annotation "+
			"kubectl.kubernetes.io/restartedAt=%s (a strategic merge patch). The Deployment replaces the Jenkins pod; Jenkins is "+
			"unavailable for a few minutes and running builds are interrupted. Needs permission to patch deployments in %s.",
			j.Namespace, j.Deployment, stamp, j.Namespace),
		Plan: diag.Plan{Steps: []diag.Step{{
			Kind:        diag.StepRestartWorkload,
			Description: fmt.Sprintf("rollout restart deployment %s/%s (restartedAt %s)", j.Namespace, j.Deployment, stamp),
			Workload:    &diag.WorkloadTarget{Kind: "Deployment", Namespace: j.Namespace, Name: j.Deployment, RestartedAt: stamp},
		}}},
	}}
	return []diag.Finding{f}, nil
}

// ---------------------------------------------------------------------------
// k8s.node-conditions

// K8sNodeConditions reports nodes under pressure or not Ready.
var K8sNodeConditions = diag.Check{
	ID:    "k8s.node-conditions",
	Title: "Nodes not Ready or under pressure",
	Doc: `Reports nodes whose Ready condition is not True, or with DiskPressure,
MemoryPressure or PIDPressure. Under pressure kubelet evicts pods (which
then show up as evicted pods) and the scheduler avoids the node. On the node
being swept, DiskPressure is linked to disk.docker-root-usage when that
check also fires: the Docker data-root filling up is the usual cause on
Docker nodes (kubelet's imagefs).`,
	Needs: []diag.Source{diag.SourceCluster},
	Uses:  []diag.Source{diag.SourceFilesystems},
	Run:   runNodeConditions,
}

var pressureTypes = []string{"DiskPressure", "MemoryPressure", "PIDPressure"}

func runNodeConditions(s *diag.Snapshot, _ *diag.Config) ([]diag.Finding, error) {
	c, err := clusterFacts(s, diag.ClusterAreaNodes)
	if err != nil {
		return nil, err
	}
	var out []diag.Finding
	for _, n := range c.Nodes {
		var bad []diag.NodeCondition
		notReady := false
		for _, cd := range n.Conditions {
			switch {
			case cd.Type == "Ready" && cd.Status != "True":
				notReady = true
				bad = append(bad, cd)
			case slices.Contains(pressureTypes, cd.Type) && cd.Status == "True":
				bad = append(bad, cd)
			}
		}
		if len(bad) == 0 {
			continue
		}
		var names []string
		t := &diag.Table{Columns: []string{"CONDITION", "STATUS", "SINCE", "REASON", "MESSAGE"}}
		for _, cd := range bad {
			name := cd.Type
			if cd.Type == "Ready" {
				name = "NotReady"
			}
			names = append(names, name)
			t.Rows = append(t.Rows, []string{cd.Type, cd.Status, age(s.Now(), cd.LastTransition), orDash(cd.Reason), cd.Message})
		}
		this := n.Name == c.NodeName
		where := "Node " + n.Name
		if this {
			where = "This node (" + n.Name + ")"
		}
		f := diag.Finding{
			ID:       "k8s.node-conditions/" + n.Name,
			Severity: diag.Warning,
			Title:    fmt.Sprintf("%s: %s", where, strings.Join(names, ", ")),
			Summary:  fmt.Sprintf("%s reports %s; kubelet evicts pods under pressure and the scheduler avoids the node.", where, strings.Join(names, ", ")),
			Evidence: []diag.Evidence{{Label: "Conditions", Table: t}},
		}
		if notReady {
			f.Severity = diag.Critical
			f.Summary = fmt.Sprintf("%s is not Ready: its pods are not scheduled there and are evicted after the toleration period.", where)
		}
		if n.Unschedulable {
			f.Evidence = append(f.Evidence, diag.Evidence{Label: "Cordoned", Value: "yes (spec.unschedulable)"})
		}
		if this && slices.Contains(names, "DiskPressure") {
			f.CausedBy = []string{"disk.docker-root-usage"}
			f.Explanation = "On this node the Docker data-root is kubelet's image filesystem: when it fills, kubelet reports DiskPressure and evicts pods."
		}
		out = append(out, f)
	}
	return out, nil
}
