package diag

import (
	"slices"
	"time"
)

// ClusterFacts holds what the Kubernetes API said about the cluster: only
// the facts the cluster checks judge, so a recorded sweep replays offline
// and a snapshot of a big cluster stays small. Secret data never enters it:
// TLS secrets are reduced to parsed certificate facts.
type ClusterFacts struct {
	// Server is the API server URL, Context the kubeconfig context used
	// ("" for in-cluster).
	Server  string `json:"server"`
	Context string `json:"context,omitempty"`
	// Reachable is false when the API server did not answer; Error says why.
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
	// ServerVersion is what /version said (e.g. "v1.36.3").
	ServerVersion string `json:"serverVersion,omitempty"`
	// NodeName is the Node object of the swept host ("" when the host is
	// not a node of this cluster).
	NodeName string `json:"nodeName,omitempty"`

	// FailedPods are pods in phase Failed (evicted ones among them), found
	// with CrashLoopPods in one paginated List of all pods not Succeeded.
	FailedPods []PodFacts `json:"failedPods"`
	// CrashLoopPods are non-terminal pods with a container waiting in
	// CrashLoopBackOff.
	CrashLoopPods []PodFacts `json:"crashLoopPods"`
	// PodsSeen counts the pods listed to find the above.
	PodsSeen int `json:"podsSeen"`

	Ingresses []IngressFacts `json:"ingresses"`
	// IngressControllers are the Deployments and DaemonSets that run an
	// ingress controller, IngressClasses the cluster's IngressClass
	// objects; both nil when not gathered (an older snapshot).
	IngressControllers []IngressControllerFacts `json:"ingressControllers,omitempty"`
	IngressClasses     []IngressClassFacts      `json:"ingressClasses,omitempty"`
	// IngressControllersGathered is true when the controllers were listed
	// (even if none was found).
	IngressControllersGathered bool `json:"ingressControllersGathered,omitempty"`
	// TLSSecrets are the secrets Ingresses reference, keyed "namespace/name".
	TLSSecrets map[string]*TLSSecretFacts `json:"tlsSecrets,omitempty"`
	Nodes      []NodeFacts                `json:"nodes"`

	// Jenkins is KubeSphere DevOps' Jenkins, nil when not installed.
	Jenkins *JenkinsFacts `json:"jenkins,omitempty"`
	// Areas are the parts of the cluster this sweep read (ClusterArea*
	// names, e.g. only "failed-pods" for a fix of evicted pods); nil
	// means every part, as in every snapshot before it was recorded. A
	// part not read is never judged healthy (Holds).
	Areas []string `json:"areas,omitempty"`
	// Partial lists facts that could not be read (e.g. "ingresses: forbidden"),
	// so the checks that need them say so instead of passing silently.
	Partial map[string]string `json:"partial,omitempty"`
}

// Holds tells whether the sweep read the given part of the cluster.
func (c *ClusterFacts) Holds(area string) bool {
	return c.Areas == nil || slices.Contains(c.Areas, area)
}

// Parts of the cluster a check reads (Check.ClusterAreas) and a sweep
// gathers (ClusterFacts.Areas).
const (
	ClusterAreaFailedPods    = "failed-pods"
	ClusterAreaCrashLoopPods = "crashloop-pods"
)

// Cluster fact areas named in ClusterFacts.Partial; nodes, ingresses
// (with their secrets and controllers) and jenkins are also parts a check
// reads.
const (
	ClusterAreaPods      = "pods"
	ClusterAreaIngresses = "ingresses"
	ClusterAreaSecrets   = "secrets"
	ClusterAreaNodes     = "nodes"
	ClusterAreaJenkins   = "jenkins"
	// ClusterAreaIngressControllers covers the workloads and IngressClasses
	// that tell which controller serves an Ingress.
	ClusterAreaIngressControllers = "ingress-controllers"
)

// PodFacts is one pod as the checks need it.
type PodFacts struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	UID       string    `json:"uid"`
	Node      string    `json:"node,omitempty"`
	Phase     string    `json:"phase"`
	Reason    string    `json:"reason,omitempty"`
	Message   string    `json:"message,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	StartedAt time.Time `json:"startedAt,omitzero"`
	// Owner is the controlling owner as "Kind/name" ("" for a bare pod).
	Owner      string            `json:"owner,omitempty"`
	Containers []ContainerStatus `json:"containers,omitempty"`
}

// ContainerStatus is one container's state in a pod.
type ContainerStatus struct {
	Name          string `json:"name"`
	Image         string `json:"image,omitempty"`
	Init          bool   `json:"init,omitempty"`
	RestartCount  int32  `json:"restartCount"`
	WaitingReason string `json:"waitingReason,omitempty"`
	// Last termination (lastState.terminated).
	LastReason   string    `json:"lastReason,omitempty"`
	LastExitCode int32     `json:"lastExitCode,omitempty"`
	LastFinished time.Time `json:"lastFinished,omitzero"`
}

// IngressFacts is one networking.k8s.io/v1 Ingress.
type IngressFacts struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	// Class is spec.ingressClassName, else the kubernetes.io/ingress.class
	// annotation (for display).
	Class string `json:"class,omitempty"`
	// ClassName is spec.ingressClassName; ClassAnnotation the
	// kubernetes.io/ingress.class annotation (nil when absent: an empty
	// value is not the same as none to ingress-nginx 0.x).
	ClassName       string  `json:"className,omitempty"`
	ClassAnnotation *string `json:"classAnnotation,omitempty"`
	// RuleHosts are the hosts of spec.rules.
	RuleHosts []string     `json:"ruleHosts,omitempty"`
	TLS       []IngressTLS `json:"tls,omitempty"`
}

// IngressTLS is one spec.tls entry.
type IngressTLS struct {
	Hosts      []string `json:"hosts,omitempty"`
	SecretName string   `json:"secretName,omitempty"`
}

// TLSSecretFacts is what a referenced secret holds, without its data.
type TLSSecretFacts struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Found is false when the secret does not exist.
	Found bool   `json:"found"`
	Type  string `json:"type,omitempty"`
	// Error says why the secret could not be read or its certificate parsed.
	Error string `json:"error,omitempty"`
	// KeyError is set when tls.key is missing or does not match the
	// certificate (the key itself is never recorded).
	KeyError string `json:"keyError,omitempty"`
	// Certs is the chain in tls.crt, leaf first.
	Certs []CertFacts `json:"certs,omitempty"`
}

// Leaf returns the first certificate, or nil.
func (s *TLSSecretFacts) Leaf() *CertFacts {
	if s == nil || len(s.Certs) == 0 {
		return nil
	}
	return &s.Certs[0]
}

// CertFacts is a parsed X.509 certificate, public parts only.
type CertFacts struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer,omitempty"`
	DNSNames  []string  `json:"dnsNames,omitempty"`
	IPs       []string  `json:"ips,omitempty"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	Serial    string    `json:"serial,omitempty"`
	// DER is the certificate itself (public), kept so checks can run
	// crypto/x509's own host verification on replay.
	DER []byte `json:"der,omitempty"`
}

// NodeFacts is one Node and its conditions.
type NodeFacts struct {
	Name       string          `json:"name"`
	Conditions []NodeCondition `json:"conditions,omitempty"`
	// Unschedulable is spec.unschedulable (cordoned).
	Unschedulable bool `json:"unschedulable,omitempty"`
}

// NodeCondition is one status condition of a node.
type NodeCondition struct {
	Type           string    `json:"type"`
	Status         string    `json:"status"`
	Reason         string    `json:"reason,omitempty"`
	Message        string    `json:"message,omitempty"`
	LastTransition time.Time `json:"lastTransition,omitzero"`
}

// JenkinsFacts is KubeSphere DevOps' Jenkins: its CasC ConfigMap and the
// pods of the devops-jenkins Deployment.
type JenkinsFacts struct {
	Namespace string `json:"namespace"`
	// ConfigMapFound is false when jenkins-casc-config does not exist.
	ConfigMapFound bool `json:"configMapFound"`
	// ConfigChangedAt is the newest managedFields time of the ConfigMap
	// (else its creation time).
	ConfigChangedAt time.Time `json:"configChangedAt,omitzero"`
	// ConfigChangedBy is the field manager of that newest change.
	ConfigChangedBy string `json:"configChangedBy,omitempty"`
	// ConfigImages are the container images named in the ConfigMap's data.
	ConfigImages []string `json:"configImages,omitempty"`
	// DeploymentFound is false when the devops-jenkins Deployment does not exist.
	DeploymentFound bool   `json:"deploymentFound"`
	Deployment      string `json:"deployment,omitempty"`
	// RestartedAt is the pod template's kubectl.kubernetes.io/restartedAt.
	RestartedAt string     `json:"restartedAt,omitempty"`
	Pods        []PodFacts `json:"pods,omitempty"`
	// CascSubPath is set when the devops-jenkins pod template mounts
	// jenkins-casc-config with subPath (such a file never refreshes).
	CascSubPath string `json:"cascSubPath,omitempty"`
	// DevOps is what tells whether Jenkins reloads its CasC by itself;
	// nil in an older snapshot.
	DevOps *DevOpsFacts `json:"devops,omitempty"`
}

// DevOpsFacts is the KubeSphere / ks-devops version and the devops
// controller, which since KubeSphere 3.2 reloads jenkins-casc-config into
// the running Jenkins (its jenkinsconfig controller, --reload-casc-delay
// after the ConfigMap changes).
type DevOpsFacts struct {
	// Version is the KubeSphere DevOps version ("v3.3.2"), "" when no
	// source names one; VersionFrom says which source decided.
	Version     string `json:"version,omitempty"`
	VersionFrom string `json:"versionFrom,omitempty"`
	// Before32 is set when a source shows a release older than 3.2 without
	// naming it exactly (ks-jenkins tagged with a bare Jenkins version).
	Before32 bool `json:"before32,omitempty"`
	// Sources lists every version hint seen ("ks-apiserver image ...").
	Sources []string `json:"sources,omitempty"`
	// ControllerFound is true when the devops controller Deployment exists.
	ControllerFound     bool   `json:"controllerFound"`
	Controller          string `json:"controller,omitempty"`
	ControllerImage     string `json:"controllerImage,omitempty"`
	ControllerReplicas  int32  `json:"controllerReplicas,omitempty"`
	ControllerAvailable int32  `json:"controllerAvailable,omitempty"`
	// ReloadDisabled says why the jenkinsconfig controller does not run
	// ("--enabled-controllers jenkinsconfig=false").
	ReloadDisabled string `json:"reloadDisabled,omitempty"`
	// ReloadDelay is --reload-casc-delay or devops-config's
	// reloadCasCDelay as written ("70s"); "" means the default, 70 s.
	ReloadDelay     string `json:"reloadDelay,omitempty"`
	ReloadDelayFrom string `json:"reloadDelayFrom,omitempty"`
}

// Ingress controller implementations ksdoctor recognises. Only
// ingress-nginx's certificate behaviour is modelled; the others are named
// so a report can say who serves an Ingress.
const (
	IngressNginx    = "ingress-nginx"
	IngressNginxInc = "nginx-inc"
	IngressTraefik  = "traefik"
	IngressHAProxy  = "haproxy"
	IngressKong     = "kong"
	IngressContour  = "contour"
	IngressAPISIX   = "apisix"
	IngressOther    = "other"
)

// IngressControllerFacts is one Deployment or DaemonSet running an ingress
// controller, with the arguments that decide which Ingresses it serves.
type IngressControllerFacts struct {
	Kind      string `json:"kind"` // Deployment or DaemonSet
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Container string `json:"container"`
	Image     string `json:"image"`
	// Implementation is one of the Ingress* constants.
	Implementation string `json:"implementation"`
	// Version is the controller version from the image tag ("v1.3.1";
	// "" when the tag says none, e.g. a digest or "latest").
	Version string `json:"version,omitempty"`
	// KubeSphere names a KubeSphere gateway: "project gateway of NS"
	// (Deployment kubesphere-router-NS in kubesphere-controls-system) or
	// "cluster gateway" (kubesphere-router-kubesphere-system).
	KubeSphere string `json:"kubesphere,omitempty"`
	// Args are the ingress-nginx flags that matter, as given (nil: not set).
	IngressClass           *string `json:"ingressClass,omitempty"`
	ControllerClass        string  `json:"controllerClass,omitempty"`
	WatchNamespace         string  `json:"watchNamespace,omitempty"`
	WatchNamespaceSelector string  `json:"watchNamespaceSelector,omitempty"`
	WatchWithoutClass      bool    `json:"watchWithoutClass,omitempty"`
	IngressClassByName     bool    `json:"ingressClassByName,omitempty"`
	// DefaultSSLCertificate is --default-ssl-certificate ("namespace/name");
	// its secret's facts are in ClusterFacts.TLSSecrets under that key.
	DefaultSSLCertificate string `json:"defaultSSLCertificate,omitempty"`
	// Unresolved lists arguments that use $(VAR) references ksdoctor could
	// not expand (the verdict on what they select is then unknown).
	Unresolved []string `json:"unresolved,omitempty"`
	Replicas   int32    `json:"replicas"`
	Available  int32    `json:"available"`
}

// Ref is "Kind namespace/name".
func (c *IngressControllerFacts) Ref() string {
	return c.Kind + " " + c.Namespace + "/" + c.Name
}

// IngressClassFacts is one networking.k8s.io/v1 IngressClass.
type IngressClassFacts struct {
	Name       string `json:"name"`
	Controller string `json:"controller"`
	// Default is the ingressclass.kubernetes.io/is-default-class annotation.
	Default bool `json:"default,omitempty"`
}

// DefaultReloadCasCDelay is ks-devops' default --reload-casc-delay.
const DefaultReloadCasCDelay = 70 * time.Second

// Delay is the configured reload delay (DefaultReloadCasCDelay when unset
// or unparseable).
func (d *DevOpsFacts) Delay() time.Duration {
	if v, err := time.ParseDuration(d.ReloadDelay); err == nil && v >= 0 {
		return v
	}
	return DefaultReloadCasCDelay
}
