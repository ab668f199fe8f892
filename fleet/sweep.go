package fleet

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/ksdoctor/ksdoctor/diag"
	"github.com/ksdoctor/ksdoctor/kubeapi"
)

// LogReader reads a finished pod's container log. The command reads it
// through the API's pods/log (APILogs); a test without a kubelet feeds it.
type LogReader interface {
	ReadLog(ctx context.Context, namespace, pod, container string) ([]byte, error)
}

// maxLog caps a node report read back from a pod.
const maxLog = 16 << 20

// APILogs reads logs through pods/log (the kubelet serves them).
type APILogs struct{ Client *kubeapi.Clientset }

// ReadLog implements LogReader.
func (a APILogs) ReadLog(ctx context.Context, ns, pod, container string) ([]byte, error) {
	return a.Client.CoreV1().PodLogs(ctx, ns, pod, corev1.PodLogOptions{Container: container, LimitBytes: ptr(int64(maxLog))})
}

// Options configure a fleet sweep.
type Options struct {
	Client       *kubeapi.Clientset
	Namespace    string
	Image        string
	Nodes        []string // names; empty: every node matching NodeSelector
	NodeSelector string   // label selector on nodes
	NodeTimeout  time.Duration
	Template     *Template
	Parallel     int // Job creations at once (default 16)
	Logs         LogReader
	// Validate checks a node report's JSON (the report schema).
	Validate func([]byte) error
	Tool     diag.Tool
	SweepID  string // default random
	// Cluster is the report of the cluster checks, run once by the caller.
	Cluster *diag.Report
}

// nodeRun is one node's progress.
type nodeRun struct {
	node    *corev1.Node
	out     Node
	created time.Time
	pod     *corev1.Pod
	reading bool
	done    bool
	// imageWait is the last image-pull wait the watch saw ("image X:
	// ImagePullBackOff: …"): a Job's deadline can end the pod before any
	// event is read, and the ended pod only says ContainerStatusUnknown.
	imageWait string
}

// NewSweepID returns a random sweep ID (8 hex digits).
func NewSweepID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Run sweeps the selected nodes through one Job each and merges their
// reports. Whatever it created is deleted before it returns, also on error
// and when ctx is canceled (then the partial report comes back with
// ctx's error).
func Run(ctx context.Context, o Options) (rep *Report, err error) {
	if o.Parallel <= 0 {
		o.Parallel = 16
	}
	if o.SweepID == "" {
		o.SweepID = NewSweepID()
	}
	start := time.Now()
	rep = &Report{SchemaVersion: 1, Kind: "fleet", Tool: o.Tool, SweepID: o.SweepID, Namespace: o.Namespace, StartedAt: start.UTC(), Cluster: o.Cluster}
	runs, missing, err := selectNodes(ctx, o)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := cleanup(context.WithoutCancel(ctx), o, runs); cerr != nil {
			err = errors.Join(err, cerr)
		}
		for _, r := range runs {
			rep.Nodes = append(rep.Nodes, r.out)
		}
		rep.Nodes = append(rep.Nodes, missing...)
		sort.Slice(rep.Nodes, func(i, j int) bool { return rep.Nodes[i].Name < rep.Nodes[j].Name })
		rep.DurationMs = time.Since(start).Milliseconds()
		Merge(rep)
	}()
	if len(runs) == 0 {
		return rep, nil
	}
	pw := &podWatch{o: o, rv: "0"}
	if err := pw.start(ctx); err != nil {
		return rep, err
	}
	defer pw.stop()
	if err := createJobs(ctx, o, runs); err != nil {
		return rep, err
	}
	rep.JobsCreatedMs = time.Since(start).Milliseconds()
	return rep, watchLoop(ctx, o, runs, pw)
}

// maxRewatch bounds how often a closed pod watch is re-established.
const maxRewatch = 5

// podWatch is the sweep's one watch on its pods. It starts at resource
// version 0 (the watch cache's current state: nothing of this sweep exists
// yet, and an exact version can wait on a lagging cache); should the server
// end it, it resumes from the last version seen, a few times at most.
type podWatch struct {
	o       Options
	w       watch.Interface
	rv      string
	rewatch int
}

func (p *podWatch) start(ctx context.Context) error {
	w, err := p.o.Client.CoreV1().Pods(p.o.Namespace).Watch(ctx, metav1.ListOptions{LabelSelector: Selector(p.o.SweepID), ResourceVersion: p.rv})
	if err != nil {
		return fmt.Errorf("watch pods in namespace %s: %w", p.o.Namespace, err)
	}
	p.w = w
	return nil
}

func (p *podWatch) stop() {
	if p.w != nil {
		p.w.Stop()
	}
}

// resume re-establishes a watch the server ended, or says why not.
func (p *podWatch) resume(ctx context.Context, why string) error {
	p.stop()
	if p.rewatch >= maxRewatch || ctx.Err() != nil {
		return fmt.Errorf("pod watch in namespace %s ended: %s", p.o.Namespace, why)
	}
	p.rewatch++
	if why != "" && strings.Contains(why, "too old") {
		p.rv = "0"
	}
	return p.start(ctx)
}

// selectNodes lists the nodes once (by --node-selector) and keeps --nodes.
func selectNodes(ctx context.Context, o Options) (map[string]*nodeRun, []Node, error) {
	list, err := o.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: o.NodeSelector})
	if err != nil {
		return nil, nil, fmt.Errorf("list nodes: %w", err)
	}
	want := map[string]bool{}
	for _, n := range o.Nodes {
		want[n] = true
	}
	runs := map[string]*nodeRun{}
	for i := range list.Items {
		n := &list.Items[i]
		if len(want) > 0 && !want[n.Name] {
			continue
		}
		runs[n.Name] = &nodeRun{node: n, out: Node{Name: n.Name}}
	}
	var missing []Node
	for _, name := range o.Nodes {
		if runs[name] == nil {
			missing = append(missing, Node{Name: name, Reason: ReasonNotFound, Detail: "no such Node object (or it does not match --node-selector)"})
		}
	}
	return runs, missing, nil
}

// sortedRuns returns runs by node name, for stable Job indexes.
func sortedRuns(runs map[string]*nodeRun) []*nodeRun {
	return slices.SortedFunc(maps.Values(runs), func(a, b *nodeRun) int { return cmp.Compare(a.node.Name, b.node.Name) })
}

// createJobs creates one Job per node, o.Parallel at a time. An error that
// holds for every node (forbidden, no namespace) ends the sweep.
func createJobs(ctx context.Context, o Options, runs map[string]*nodeRun) error {
	sem := make(chan struct{}, o.Parallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var fatal error
	deadline := int64(o.NodeTimeout.Seconds())
	if deadline < 1 {
		deadline = 1
	}
	for i, r := range sortedRuns(runs) {
		job, err := BuildJob(JobSpec{Namespace: o.Namespace, SweepID: o.SweepID, Image: o.Image, Index: i, DeadlineSeconds: deadline, Template: o.Template}, r.node)
		if err != nil {
			return err
		}
		r.out.Job = job.Name
		wg.Add(1)
		sem <- struct{}{}
		go func(r *nodeRun, job *batchv1.Job) {
			defer func() { <-sem; wg.Done() }()
			_, err := o.Client.BatchV1().Jobs(o.Namespace).Create(ctx, job, metav1.CreateOptions{})
			mu.Lock()
			defer mu.Unlock()
			r.created = time.Now()
			if err != nil {
				r.done, r.out.Reason, r.out.Detail = true, ReasonCreateFailed, err.Error()
				if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) || apierrors.IsUnauthorized(err) {
					fatal = fmt.Errorf("create Job %s in namespace %s: %w", job.Name, o.Namespace, err)
				}
			}
		}(r, job)
	}
	wg.Wait()
	return fatal
}

type logResult struct {
	node string
	data []byte
	err  error
}

// watchLoop follows the sweep's pods through the one watch until every node
// has a report or a reason.
func watchLoop(ctx context.Context, o Options, runs map[string]*nodeRun, pw *podWatch) error {
	logs := make(chan logResult)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	inflight := 0
	sem := make(chan struct{}, o.Parallel)
	for pending(runs) > 0 || inflight > 0 {
		select {
		case <-ctx.Done():
			for inflight > 0 {
				<-logs
				inflight--
			}
			for _, r := range runs {
				if !r.done {
					r.done, r.out.Reason, r.out.Detail = true, ReasonCanceled, "the sweep was interrupted before this node answered"
				}
			}
			return ctx.Err()
		case ev, ok := <-pw.w.ResultChan():
			if !ok {
				if err := pw.resume(ctx, "closed by the server"); err != nil {
					return err
				}
				continue
			}
			pod, isPod := ev.Object.(*corev1.Pod)
			if !isPod {
				if st, ok := ev.Object.(*metav1.Status); ok {
					if err := pw.resume(ctx, st.Message); err != nil {
						return err
					}
				}
				continue
			}
			pw.rv = pod.ResourceVersion
			if ev.Type == watch.Bookmark {
				continue
			}
			r := runs[pod.Spec.NodeName]
			if r == nil || r.done || r.reading {
				continue
			}
			r.pod, r.out.Pod = pod, pod.Name
			for _, c := range pod.Status.ContainerStatuses {
				if w := c.State.Waiting; w != nil && imageReasons[w.Reason] {
					r.imageWait = fmt.Sprintf("image %s: %s: %s", c.Image, w.Reason, w.Message)
				}
			}
			switch {
			case pod.Status.Phase == corev1.PodSucceeded || reportedFindings(pod):
				r.reading = true
				inflight++
				go func(node, name string) {
					sem <- struct{}{}
					defer func() { <-sem }()
					rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
					defer cancel()
					data, err := o.Logs.ReadLog(rctx, o.Namespace, name, ContainerName)
					logs <- logResult{node, data, err}
				}(r.node.Name, pod.Name)
			case pod.Status.Phase == corev1.PodFailed:
				r.done = true
				r.out.Reason, r.out.Detail = classify(pod, r.node, nil, o.NodeTimeout)
				if r.out.Reason == ReasonFailed && r.imageWait != "" && neverStarted(pod) {
					r.out.Reason, r.out.Detail = ReasonImageMissing, fmt.Sprintf("pod %s ended before its container started: %s", pod.Name, r.imageWait)
				}
				r.out.DurationMs = time.Since(r.created).Milliseconds()
			}
		case lr := <-logs:
			inflight--
			r := runs[lr.node]
			r.done = true
			r.out.DurationMs = time.Since(r.created).Milliseconds()
			readReport(&r.out, lr, o.Validate)
		case now := <-tick.C:
			if err := expire(ctx, o, runs, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// reportExits are the node sweep's exit codes that come with a report:
// findings of warning (1) or critical (2) severity, or a check that could
// not judge (5). The pod then fails (the exit code is not 0) but its log
// is the report.
var reportExits = map[int32]bool{1: true, 2: true, 5: true}

// reportedFindings reports whether a failed pod's sweep container exited
// with a code that comes with a report.
func reportedFindings(pod *corev1.Pod) bool {
	if pod.Status.Phase != corev1.PodFailed {
		return false
	}
	for _, c := range pod.Status.ContainerStatuses {
		if c.Name == ContainerName && c.State.Terminated != nil {
			return reportExits[c.State.Terminated.ExitCode]
		}
	}
	return false
}

func pending(runs map[string]*nodeRun) int {
	n := 0
	for _, r := range runs {
		if !r.done && !r.reading {
			n++
		}
	}
	return n
}

// expire gives up on the nodes past --node-timeout, naming why from their
// pod's status and the namespace's events (one list for all of them).
func expire(ctx context.Context, o Options, runs map[string]*nodeRun, now time.Time) error {
	var late []*nodeRun
	for _, r := range runs {
		if !r.done && !r.reading && now.Sub(r.created) >= o.NodeTimeout {
			late = append(late, r)
		}
	}
	if len(late) == 0 {
		return nil
	}
	events, evErr := o.Client.CoreV1().Events(o.Namespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=Pod"})
	byPod := map[string][]corev1.Event{}
	if evErr == nil {
		for _, e := range events.Items {
			byPod[e.InvolvedObject.Name] = append(byPod[e.InvolvedObject.Name], e)
		}
	}
	for _, r := range late {
		r.done = true
		r.out.DurationMs = now.Sub(r.created).Milliseconds()
		var evs []corev1.Event
		if r.pod != nil {
			evs = byPod[r.pod.Name]
		}
		r.out.Reason, r.out.Detail = classify(r.pod, r.node, evs, o.NodeTimeout)
		if evErr != nil {
			r.out.Detail += fmt.Sprintf(" (events unreadable: %v)", evErr)
		}
	}
	return nil
}

// readReport turns a pod's log into the node's report, or the reason not.
func readReport(out *Node, lr logResult, validate func([]byte) error) {
	if lr.err != nil {
		out.Reason, out.Detail = ReasonLogUnreadable, fmt.Sprintf("pods/log of %s: %v", out.Pod, lr.err)
		return
	}
	doc, ok := extractJSON(lr.data)
	if !ok {
		out.Reason, out.Detail = ReasonNotJSON, fmt.Sprintf("pod %s's log holds no JSON report; it begins %q", out.Pod, head(lr.data, 200))
		return
	}
	if validate != nil {
		if err := validate(doc); err != nil {
			out.Reason, out.Detail = ReasonInvalid, err.Error()
			return
		}
	}
	var r diag.Report
	if err := json.Unmarshal(doc, &r); err != nil {
		out.Reason, out.Detail = ReasonInvalid, err.Error()
		return
	}
	out.Answered, out.Report = true, &r
}

// maxJSONTries bounds the lines extractJSON tries to decode from (each
// try may read to the end of the log).
const maxJSONTries = 16

// extractJSON finds the report in a log that may interleave the sweep's
// stderr notes with its JSON: the whole log, else the first line starting
// with "{" that begins a complete JSON object (of the first 16 such).
func extractJSON(b []byte) ([]byte, bool) {
	t := bytes.TrimSpace(b)
	if len(t) > 0 && t[0] == '{' && json.Valid(t) {
		return t, true
	}
	tries := 0
	for off := 0; off < len(b) && tries < maxJSONTries; {
		if b[off] == '{' {
			tries++
			dec := json.NewDecoder(bytes.NewReader(b[off:]))
			var raw json.RawMessage
			if err := dec.Decode(&raw); err == nil {
				return raw, true
			}
		}
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			break
		}
		off += i + 1
	}
	return nil, false
}

func head(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}
