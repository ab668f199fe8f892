package checks

import (
	"cmp"
	"crypto/x509"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

// ---------------------------------------------------------------------------
// k8s.ingress-tls

// K8sIngressTLS reports Ingress hosts served a wrong, expired or default
// certificate.
var K8sIngressTLS = diag.Check{
	ID:    "k8s.ingress-tls",
	Title: "Ingress TLS certificates that do not fit their hosts",
	Doc: `For every TLS host of every networking.k8s.io/v1 Ingress (every rule host
when a TLS entry lists no hosts), first finds the ingress controllers that
serve the Ingress, by ingress-nginx's own class rules for the version its
image runs (spec.ingressClassName and IngressClass.spec.controller against
--controller-class, the kubernetes.io/ingress.class annotation against
--ingress-class, --watch-ingress-without-class, --watch-namespace; 0.x's
class.IsValid), KubeSphere's project and cluster gateways
(kubesphere-router-* in kubesphere-controls-system) included. Then, per
controller, works out the certificate it serves, as it does: Ingresses
oldest first, the oldest Ingress with TLS for a host decides; within it the
secret listed for the exact host, else any listed secret whose certificate
verifies the host (crypto/x509 VerifyHostname, wildcards included). A host
whose secret is missing, not a TLS secret, unparseable, has a key that does
not match, or a certificate that does not cover it (the seed's case: one
secret listed for two hosts, covering one) is served the controller's
--default-ssl-certificate, or without one (or when it cannot be loaded) the
"Kubernetes Ingress Controller Fake Certificate", and is named. An Ingress
that no ingress-nginx controller is known to serve (none found, a class no
controller claims, or a controller ksdoctor does not model such as traefik)
gets an info finding HOST/unknown naming the controllers seen, and the check
reports an error: no verdict is guessed. Expired and not-yet-valid certificates are
critical, certificates expiring within cluster.certExpiryDays (14) a
warning, and a host claimed by several Ingresses with different secrets a
warning. Only public certificate facts are gathered; private keys never
reach the snapshot or the report.`,
	Needs:        []diag.Source{diag.SourceCluster},
	ClusterAreas: []string{diag.ClusterAreaIngresses},
	Run:          runIngressTLS,
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

// hostCand is one Ingress with TLS for a host, and the entries that may
// serve it: the entry listing the host exactly, else every entry (one
// whose certificate verifies the host is used).
type hostCand struct {
	ing  *diag.IngressFacts
	refs []tlsRef
}

// tlsHosts are the hosts an Ingress serves over TLS: those listed under
// spec.tls, and every rule host when a TLS entry lists no hosts (other
// rule hosts are plain HTTP on purpose).
func tlsHosts(ing *diag.IngressFacts) []string {
	var hs []string
	for _, t := range ing.TLS {
		for _, h := range t.Hosts {
			if h != "" && !slices.Contains(hs, h) {
				hs = append(hs, h)
			}
		}
	}
	if slices.ContainsFunc(ing.TLS, func(t diag.IngressTLS) bool { return len(t.Hosts) == 0 }) {
		for _, h := range ing.RuleHosts {
			if !slices.Contains(hs, h) {
				hs = append(hs, h)
			}
		}
	}
	return hs
}

func candFor(ing *diag.IngressFacts, h string) hostCand {
	for _, t := range ing.TLS {
		if t.SecretName != "" && slices.Contains(t.Hosts, h) {
			return hostCand{ing: ing, refs: []tlsRef{{ing: ing, secret: t.SecretName, exact: true}}}
		}
	}
	cd := hostCand{ing: ing}
	for _, t := range ing.TLS {
		if t.SecretName != "" {
			cd.refs = append(cd.refs, tlsRef{ing: ing, secret: t.SecretName})
		}
	}
	return cd
}

// unknownHost is a TLS host no modelled controller is known to serve.
type unknownHost struct {
	ings    []string
	reasons []string
}

// hostAssignment is, per ingress-nginx controller, the TLS hosts of the
// Ingresses it serves with their candidates (oldest first), and the hosts of
// Ingresses no modelled controller is known to serve.
type hostAssignment = map[*diag.IngressControllerFacts]map[string][]hostCand

// assignHosts finds the controllers serving each Ingress (ings oldest
// first); notGathered, when set, says why no controller can be named.
func assignHosts(c *diag.ClusterFacts, ings []*diag.IngressFacts, notGathered string) (hostAssignment, map[string]*unknownHost, []string) {
	byCtrl := hostAssignment{}
	unknown := map[string]*unknownHost{}
	seen := map[string]bool{}
	var order []string
	for _, ing := range ings {
		var serving []*diag.IngressControllerFacts
		reasons := []string{notGathered}
		if notGathered == "" {
			serving, reasons, _ = servingControllers(c, ing)
			if len(reasons) == 0 {
				reasons = []string{"no ingress controller Deployment or DaemonSet was found in the cluster"}
			}
			if o := otherController(c, ing); o != "" && len(serving) == 0 {
				reasons = append(reasons, o)
			}
		}
		for _, h := range tlsHosts(ing) {
			if !seen[h] {
				seen[h] = true
				order = append(order, h)
			}
			if len(serving) == 0 {
				u := unknown[h]
				if u == nil {
					u = &unknownHost{}
					unknown[h] = u
				}
				u.ings = append(u.ings, ing.Namespace+"/"+ing.Name)
				for _, r := range reasons {
					if !slices.Contains(u.reasons, r) {
						u.reasons = append(u.reasons, r)
					}
				}
			}
			for _, ctrl := range serving {
				if byCtrl[ctrl] == nil {
					byCtrl[ctrl] = map[string][]hostCand{}
				}
				byCtrl[ctrl][h] = append(byCtrl[ctrl][h], candFor(ing, h))
			}
		}
	}
	return byCtrl, unknown, order
}

func runIngressTLS(pass *diag.Pass) ([]diag.Finding, error) {
	c, err := clusterFacts(pass, diag.ClusterAreaIngresses)
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
	notGathered := ""
	switch reason, ok := c.Partial[diag.ClusterAreaIngressControllers]; {
	case ok:
		notGathered = "the ingress controllers could not be read: " + reason
	case !c.IngressControllersGathered:
		notGathered = "this snapshot holds no ingress controller facts"
	}
	byCtrl, unknown, order := assignHosts(c, ings, notGathered)
	sort.Strings(order)
	var out []diag.Finding
	var unknownHosts []string
	for _, h := range order {
		var best *diag.Finding
		judged := false
		for i := range c.IngressControllers {
			ctrl := &c.IngressControllers[i]
			cands, ok := byCtrl[ctrl][h]
			if !ok {
				continue
			}
			judged = true
			if f := judgeHost(pass, c, h, ctrl, cands); f != nil && (best == nil || f.Severity.Rank() > best.Severity.Rank()) {
				best = f
			}
		}
		if u := unknown[h]; u != nil && !judged {
			unknownHosts = append(unknownHosts, h)
			out = append(out, unknownFinding(pass, h, u))
			continue
		}
		if best != nil {
			if u := unknown[h]; u != nil {
				best.Evidence = append(best.Evidence, diag.Evidence{Label: "Ingresses for this host no known controller serves", Value: strings.Join(u.ings, ", ")})
			}
			out = append(out, *best)
		}
	}
	if len(unknownHosts) > 0 {
		return out, fmt.Errorf("cannot tell which ingress controller serves %s: no verdict on %s",
			plural(len(unknownHosts), "TLS host", "TLS hosts"), strings.Join(unknownHosts, ", "))
	}
	return out, nil
}

func unknownFinding(pass *diag.Pass, h string, u *unknownHost) diag.Finding {
	return diag.Finding{
		ID:       pass.FindingID(h + "/unknown"),
		Severity: diag.Info,
		Title:    fmt.Sprintf("Unknown: no ingress controller ksdoctor can identify serves %s", h),
		Summary: fmt.Sprintf("%s is listed for TLS in %s, but no ingress-nginx controller is known to serve it: which certificate clients get is not judged.",
			h, strings.Join(u.ings, ", ")),
		Explanation: "ksdoctor models ingress-nginx (KubeSphere's gateways among them). Check which controller serves this Ingress " +
			"(its IngressClass or kubernetes.io/ingress.class annotation) and the certificate it presents: " +
			"openssl s_client -connect ADDRESS:443 -servername " + h + ".",
		Evidence: []diag.Evidence{
			{Label: "Host", Value: h},
			{Label: "Ingresses", Value: strings.Join(u.ings, ", ")},
			{Label: "Controllers seen", Value: strings.Join(u.reasons, "\n")},
		},
	}
}

// judgeHost is what ingress-nginx controller ctrl serves for h, given the
// Ingresses it serves that list h (oldest first); nil when all is well.
func judgeHost(pass *diag.Pass, c *diag.ClusterFacts, h string, ctrl *diag.IngressControllerFacts, cands []hostCand) *diag.Finding {
	var served *secretVerdict
	var servedBy tlsRef
	decided := false
	var problems []string
	table := &diag.Table{Columns: []string{"INGRESS", "CREATED", "SECRET", "LISTED FOR HOST", "VERDICT"}}
	secretsSeen := map[string]bool{}
	for _, cd := range cands {
		ingName := cd.ing.Namespace + "/" + cd.ing.Name
		created := cd.ing.CreatedAt.Format(time.RFC3339)
		if len(cd.refs) == 0 {
			table.Rows = append(table.Rows, []string{ingName, created, "-", "no", "TLS section names no secret"})
			if !decided {
				decided = true
				problems = append(problems, fmt.Sprintf("Ingress %s lists %s for TLS without a secret", ingName, h))
			}
			continue
		}
		first := !decided
		var usable *secretVerdict
		for _, r := range cd.refs {
			secretsSeen[cd.ing.Namespace+"/"+r.secret] = true
			v := judgeSecret(c, cd.ing.Namespace, r.secret, h)
			verdict := v.why
			switch {
			case !first && v.usable:
				verdict = "covers the host, ignored: an older Ingress decides"
			case !first:
				verdict = "ignored: an older Ingress decides; " + v.why
			case v.usable && usable == nil:
				verdict = "covers the host: served"
				usable, servedBy = &v, r
			case v.usable:
				verdict = "covers the host, not used: another entry is served"
			case r.exact:
				problems = append(problems, fmt.Sprintf("Ingress %s lists %s for %s, but %s", ingName, r.secret, h, v.why))
			}
			table.Rows = append(table.Rows, []string{ingName, created, r.secret, yesNo(r.exact), verdict})
		}
		if first {
			decided = true
			served = usable
			if usable == nil && !cd.refs[0].exact {
				problems = append(problems, fmt.Sprintf("no secret listed in Ingress %s has a certificate covering %s", ingName, h))
			}
		}
	}
	f := &diag.Finding{ID: pass.FindingID(h), Evidence: []diag.Evidence{
		{Label: "Host", Value: h},
		{Label: "Served by", Value: ctrlName(ctrl)},
		{Label: "Ingress TLS for this host (oldest first)", Table: table},
	}}
	explanation := "ingress-nginx takes, per host, the oldest Ingress with TLS for it; its secret must exist, parse, match its key and cover the host, " +
		"else the controller's default certificate is served. Fix the secret (a certificate whose SANs include the host, e.g. from cert-manager), " +
		"or list the host under a TLS entry whose secret covers it."
	if served == nil {
		judgeDefault(f, c, h, ctrl)
	} else if !judgeServed(f, pass, c, h, served, servedBy, &problems, len(secretsSeen) > 1 && len(cands) > 1, len(cands)) {
		return nil
	}
	if len(problems) > 0 {
		f.Evidence = append(f.Evidence, diag.Evidence{Label: "Problems", Value: strings.Join(problems, "\n")})
	}
	f.Explanation = explanation
	return f
}

// judgeDefault fills f for a host served the controller's default
// certificate: --default-ssl-certificate when it loads, else the fake one.
func judgeDefault(f *diag.Finding, c *diag.ClusterFacts, h string, ctrl *diag.IngressControllerFacts) {
	f.Severity = diag.Critical
	if def := ctrl.DefaultSSLCertificate; def != "" {
		ns, name, _ := strings.Cut(def, "/")
		v := judgeSecret(c, ns, name, h)
		f.Evidence = append(f.Evidence, diag.Evidence{Label: "Default certificate (--default-ssl-certificate)", Value: def})
		switch sec := c.TLSSecrets[def]; {
		case v.usable:
			f.Severity = diag.Warning
			f.Title = fmt.Sprintf("%s is served the controller's default certificate %s", h, def)
			f.Summary = fmt.Sprintf("No Ingress TLS secret usable for %s; %s serves its --default-ssl-certificate %s, which covers the host.", h, ctrl.Ref(), def)
			f.Evidence = append(f.Evidence, certEvidence(def, v.leaf)...)
			return
		case v.leaf != nil && sec != nil && sec.Error == "" && sec.KeyError == "":
			f.Title = fmt.Sprintf("%s is served the default certificate %s, which does not cover it", h, def)
			f.Summary = fmt.Sprintf("No Ingress TLS secret usable for %s; %s serves its --default-ssl-certificate %s (%s): clients refuse it.", h, ctrl.Ref(), def, certNames(v.leaf))
			return
		default:
			f.Evidence = append(f.Evidence, diag.Evidence{Label: "Default certificate problem", Value: v.why + " (ingress-nginx falls back to its fake certificate)"})
		}
	}
	f.Title = fmt.Sprintf("%s is served the ingress controller's fake certificate", h)
	f.Summary = fmt.Sprintf("No Ingress TLS secret usable for %s: %s serves its default \"Kubernetes Ingress Controller Fake Certificate\" and clients refuse the connection.", h, ctrl.Ref())
}

// judgeServed fills f for a host served a secret; false when all is well.
func judgeServed(f *diag.Finding, pass *diag.Pass, c *diag.ClusterFacts, h string, served *secretVerdict, by tlsRef, problems *[]string, conflicting bool, n int) bool {
	leaf := served.leaf
	secret := by.ing.Namespace + "/" + by.secret
	f.Evidence = append(f.Evidence, certEvidence(secret, leaf)...)
	if sec := c.TLSSecrets[secret]; sec != nil && sec.Type != "" && sec.Type != "kubernetes.io/tls" {
		*problems = append(*problems, fmt.Sprintf("secret %s has type %s, not kubernetes.io/tls: tools that expect TLS secrets (cert-manager, the dashboard) will not treat it as one", secret, sec.Type))
	}
	warnBefore := pass.Now().Add(time.Duration(pass.Config.Cluster.CertExpiryDays) * 24 * time.Hour)
	switch {
	case pass.Now().After(leaf.NotAfter):
		f.Severity = diag.Critical
		f.Title = fmt.Sprintf("%s is served an expired certificate", h)
		f.Summary = fmt.Sprintf("The certificate in %s for %s expired %s ago (%s).", secret, h, age(pass.Now(), leaf.NotAfter), leaf.NotAfter.Format(time.RFC3339))
	case pass.Now().Before(leaf.NotBefore):
		f.Severity = diag.Critical
		f.Title = fmt.Sprintf("%s is served a certificate that is not valid yet", h)
		f.Summary = fmt.Sprintf("The certificate in %s for %s is valid only from %s.", secret, h, leaf.NotBefore.Format(time.RFC3339))
	case warnBefore.After(leaf.NotAfter):
		f.Severity = diag.Warning
		f.Title = fmt.Sprintf("The certificate of %s expires in %s", h, leaf.NotAfter.Sub(pass.Now()).Round(time.Hour))
		f.Summary = fmt.Sprintf("The certificate in %s for %s expires %s, within %d days.", secret, h, leaf.NotAfter.Format(time.RFC3339), pass.Config.Cluster.CertExpiryDays)
	case conflicting:
		f.Severity = diag.Warning
		f.Title = fmt.Sprintf("%s is in %d Ingresses with different TLS secrets", h, n)
		f.Summary = fmt.Sprintf("ingress-nginx serves %s from the oldest Ingress, %s; the other Ingresses' TLS for %s is ignored.",
			secret, by.ing.Namespace+"/"+by.ing.Name, h)
	case len(*problems) > 0:
		f.Severity = diag.Warning
		f.Title = fmt.Sprintf("The TLS secret of %s has a problem", h)
		f.Summary = fmt.Sprintf("%s is served %s, but: %s.", h, secret, (*problems)[0])
	default:
		return false
	}
	return true
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
