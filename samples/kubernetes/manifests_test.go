// Package manifests checks the Kubernetes samples beside it: the base (kustomization.yaml)
// with each of its components, and the kustomizations beside it, are rendered with the
// Kustomize Go API; every object decodes strictly into the real Kubernetes API type of
// its kind; and the settings the migration depends on are there.
//
//	cd samples/kubernetes && go test ./...
//
// TestProgram also builds the program (../..) statically and runs each
// pod's command line against its sandbox; TestDockerfile reads ../../Dockerfile. -short
// skips the build.
package manifests

import (
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// flags are the program's flags: name -> whether it takes a value.
var flags = map[string]bool{
	"plan": true, "report": true, "dry-run": false, "rate": true, "burst": true,
	"workers": true, "max-attempts": true, "timeout": true, "base-url": true,
	"api-key-file": true, "resume": true, "skip-invalid": false, "null-token": true,
	"max-errors": true, "shards": true, "shard-index": true, "log-format": true,
	"log-level": true, "sandbox": false, "version": false, "no-snapshot": false,
	"undo-plan": true, "limit": true, "summary": true, "termination-log": true, "yes": false,
	"columns": true, "sheet": true, "html": true, "log-file": true, "pushgateway": true,
	"metrics-file": true, "metrics-name": true,
}

// pendingFlags are flags the samples pass that the program does not have yet (work in
// progress adds them): name -> whether it takes a value. The checks here accept them;
// TestProgramKnowsTheManifests leaves them out of the command lines it runs, and fails as
// soon as the program's --help lists one: then move it to flags above.
var pendingFlags = map[string]bool{}

// verifyFlags are the flags `reassign verify` takes; the rest are a run's.
var verifyFlags = []string{
	"plan", "columns", "ignore-columns", "sheet", "null-token", "skip-invalid", "report",
	"base-url", "api-key-file", "rate", "burst", "workers", "max-attempts", "timeout",
	"sandbox", "log-format", "log-level", "log-file",
	"summary", "termination-log", "html", "pushgateway", "metrics-file", "metrics-name",
}

// envVars are the environment variables the program reads. Any other REASSIGN_ or
// DIALNEXA_ variable in a manifest is a typo the program would ignore.
var envVars = []string{
	"REASSIGN_PLAN", "REASSIGN_REPORT", "REASSIGN_DRY_RUN", "REASSIGN_RATE",
	"REASSIGN_BURST", "REASSIGN_WORKERS", "REASSIGN_MAX_ATTEMPTS", "REASSIGN_TIMEOUT",
	"DIALNEXA_BASE_URL", "DIALNEXA_API_KEY_FILE", "DIALNEXA_API_KEY", "REASSIGN_RESUME",
	"REASSIGN_SKIP_INVALID", "REASSIGN_NULL_TOKEN", "REASSIGN_MAX_ERRORS",
	"REASSIGN_SHARDS", "REASSIGN_LOG_FORMAT", "REASSIGN_LOG_LEVEL", "REASSIGN_LIMIT",
	"REASSIGN_SUMMARY", "REASSIGN_TERMINATION_LOG", "REASSIGN_YES", "REASSIGN_HTML",
	"REASSIGN_LOG_FILE", "REASSIGN_PUSHGATEWAY", "REASSIGN_METRICS_FILE", "REASSIGN_METRICS_NAME",
}

// Exit codes and the podFailurePolicy action each must get: 4 is an atomic run that could
// not put every number back, which a retry of the forward plan must not follow.
var (
	failJobCodes = []int32{3, 4, 64, 65, 77, 78}
	countCodes   = []int32{75}
)

const containerName = "reassign"

// settings are the values the base's kustomization.yaml sets for every workload.
type settings struct {
	image     string // the reassign containers' image, as rendered
	keySecret string // the Secret holding the key
}

// shipped are the settings as the samples ship them.
var shipped = settings{image: "registry.example.com/reassign:v1.0.0", keySecret: "dialnexa-api-key"}

// objects indexes a setup's objects by kind and name, for references between them.
type objects map[string]any

func (o objects) get(kind, name string) any { return o[kind+"/"+name] }

func index(t *testing.T, docs ...[]doc) objects {
	t.Helper()
	all := objects{}
	for _, ds := range docs {
		for _, d := range ds {
			key := d.kind + "/" + d.name
			if _, dup := all[key]; dup {
				t.Errorf("%v: made twice", d)
			}
			all[key] = d.obj
		}
	}
	return all
}

// role is what a reassign container does, from its command line.
type role int

const (
	liveRun role = iota
	dryRun
	verify
)

func (r role) String() string { return [...]string{"run", "dry run", "verify"}[r] }

// workload is one Job or CronJob that runs reassign, as the checks see it.
type workload struct {
	name    string // the Job's or CronJob's name
	podName string // an example of the names its pods get
	role    role
	opts    map[string]string
}

// TestManifests renders every setup and checks every object it makes. The reports'
// claim comes from the storage setup, as it does in a cluster.
func TestManifests(t *testing.T) {
	t.Parallel()
	storage := renderSetup(t, setups[slices.IndexFunc(setups, func(s setup) bool { return s.dir == "storage" })])
	for _, s := range setups {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			docs := renderSetup(t, s)
			all := index(t, docs)
			if s.dir != "storage" {
				all = index(t, docs, storage)
			}
			checkObjects(t, docs, all, shipped)
		})
	}
}

// checkObjects checks each object, and what the workloads do together.
func checkObjects(t *testing.T, docs []doc, all objects, want settings) []workload {
	t.Helper()
	var loads []workload
	for _, d := range docs {
		t.Run(d.kind+"/"+d.name, func(t *testing.T) {
			switch o := d.obj.(type) {
			case *batchv1.Job:
				loads = append(loads, checkJob(t, o.Name, podNameOf(o.Name, isIndexed(&o.Spec)), &o.Spec, all, want))
			case *batchv1.CronJob:
				loads = append(loads, checkCronJob(t, o, all, want))
			case *corev1.Pod:
				checkHelperPod(t, o, all)
			case *corev1.ConfigMap:
				checkConfigMap(t, o)
			case *corev1.PersistentVolumeClaim:
				checkPVC(t, o)
			default:
				t.Errorf("no check for %T", o)
			}
		})
	}
	checkOutputs(t, loads)
	return loads
}

// podNameOf is an example of the names a Job's pods get: <job>-<5 chars>, or
// <job>-<index>-<5 chars> for an Indexed Job.
func podNameOf(job string, indexed bool) string {
	if indexed {
		return job + "-0-q8x4v"
	}
	return job + "-q8x4v"
}

func checkCronJob(t *testing.T, cj *batchv1.CronJob, all objects, want settings) workload {
	s := &cj.Spec
	if s.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy %q, want Forbid: two runs at once would do everything twice", s.ConcurrencyPolicy)
	}
	if s.StartingDeadlineSeconds == nil || *s.StartingDeadlineSeconds <= 0 {
		t.Error("no startingDeadlineSeconds: a missed run would start at any later hour")
	}
	if s.SuccessfulJobsHistoryLimit == nil || s.FailedJobsHistoryLimit == nil {
		t.Error("successfulJobsHistoryLimit and failedJobsHistoryLimit should be set")
	}
	if isIndexed(&s.JobTemplate.Spec) {
		t.Error("an Indexed jobTemplate: not what this sample shows")
	}
	// Jobs created by a CronJob are named <cronjob>-<minutes since the epoch>.
	w := checkJob(t, cj.Name, cj.Name+"-29431507-q8x4v", &s.JobTemplate.Spec, all, want)
	if w.role == verify {
		// The drift alarm: hourly, at a fixed minute.
		f := strings.Fields(s.Schedule)
		if len(f) != 5 || !regexp.MustCompile(`^[0-5]?[0-9]$`).MatchString(f[0]) || strings.Join(f[1:], " ") != "* * * *" {
			t.Errorf("schedule %q: want hourly (\"M * * * *\")", s.Schedule)
		}
		if s.Suspend != nil && *s.Suspend {
			t.Error("a verify CronJob created suspended: verify never writes, and an alarm that is off alarms nobody")
		}
		if s.JobTemplate.Spec.ActiveDeadlineSeconds == nil || *s.JobTemplate.Spec.ActiveDeadlineSeconds >= 3600 {
			t.Error("a verify must end within the hour (activeDeadlineSeconds below 3600), or it blocks the next one")
		}
		if w.opts["pushgateway"] == "" || w.opts["metrics-name"] == "" {
			t.Error("a scheduled verify pushes its metrics (--pushgateway) under a plan name of its own (--metrics-name)")
		}
	}
	return w
}

func checkJob(t *testing.T, name, podName string, s *batchv1.JobSpec, all objects, want settings) workload {
	t.Helper()
	pod := &s.Template.Spec
	w := workload{name: name, podName: podName}
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q, want Never (podFailurePolicy requires it, and a restarted container would reuse its pod's file names)", pod.RestartPolicy)
	}
	if s.BackoffLimit == nil && s.BackoffLimitPerIndex == nil {
		t.Error("neither backoffLimit nor backoffLimitPerIndex: the default of 6 full re-runs is implicit")
	}
	if s.ActiveDeadlineSeconds == nil || *s.ActiveDeadlineSeconds <= 0 {
		t.Error("no activeDeadlineSeconds")
	}
	if s.PodReplacementPolicy == nil || *s.PodReplacementPolicy != batchv1.Failed {
		t.Error("podReplacementPolicy should be Failed: no replacement pod while the old one still drains")
	}
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g < 30 {
		t.Error("terminationGracePeriodSeconds should be set and at least 30: the drain on SIGTERM takes up to 20 s")
	}
	checkPodFailurePolicy(t, s)
	checkTmp(t, pod)

	c := checkPodSecurity(t, pod)
	if c == nil {
		return w
	}
	if c.Name != containerName {
		t.Errorf("container %q, want %q (the podFailurePolicy rules name it)", c.Name, containerName)
	}
	if c.Image != want.image {
		t.Errorf("image %q, want %q: the image set in kustomization.yaml", c.Image, want.image)
	}
	if c.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError {
		t.Errorf("terminationMessagePolicy %q, want FallbackToLogsOnError: the one-line summary reassign writes to /dev/termination-log, or the log's last lines if it died first", c.TerminationMessagePolicy)
	}
	w.role, w.opts = checkContainer(t, c)
	checkKey(t, pod, c, w.opts, want)
	checkPlan(t, pod, c, w.opts, all)
	pvc := checkOutput(t, pod, c, w.opts, "report", all)
	switch w.role {
	case liveRun:
		// What a person needs after a live run: the way back, and the numbers.
		checkOutput(t, pod, c, w.opts, "undo-plan", all)
		checkOutput(t, pod, c, w.opts, "summary", all)
		if _, ok := w.opts["resume"]; !ok {
			t.Error("a live run without --resume: a retried pod would send every row again")
		}
	case dryRun:
		if w.opts["dry-run"] != "server" {
			t.Errorf("--dry-run=%s, want server: the dry run the samples show reads the workspace", w.opts["dry-run"])
		}
		checkOutput(t, pod, c, w.opts, "summary", all)
	}
	checkShards(t, name, s, pod, w.opts, pvc)
	return w
}

func checkShards(t *testing.T, name string, s *batchv1.JobSpec, pod *corev1.PodSpec, opts map[string]string, pvc *corev1.PersistentVolumeClaim) {
	t.Helper()
	shards := 1
	if v, ok := opts["shards"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Errorf("--shards=%q: %v", v, err)
		}
		shards = n
	}
	idx, hasIdx := opts["shard-index"]
	if isIndexed(s) {
		if s.Completions == nil || int(*s.Completions) != shards {
			t.Errorf("Indexed Job: completions %v, --shards %d: they must be equal, or shards are left undone or refused", ptrString(s.Completions), shards)
		}
		if s.Parallelism != nil && s.Completions != nil && *s.Parallelism > *s.Completions {
			t.Errorf("parallelism %d > completions %d", *s.Parallelism, *s.Completions)
		}
		if hasIdx && idx != "$(JOB_COMPLETION_INDEX)" {
			t.Errorf("Indexed Job with --shard-index=%s: every pod would run the same shard", idx)
		}
		if s.BackoffLimitPerIndex == nil {
			t.Error("Indexed Job: set backoffLimitPerIndex, so that one shard's retries do not use up the others'")
		}
	} else {
		for _, p := range []*int32{s.Completions, s.Parallelism} {
			if p != nil && *p != 1 {
				t.Errorf("a NonIndexed Job with completions or parallelism %d would run the plan more than once at a time", *p)
			}
		}
		if shards > 1 && !hasIdx {
			t.Errorf("--shards=%d in a NonIndexed Job without --shard-index: it would run shard 0 only", shards)
		}
	}
	if s.Parallelism != nil && *s.Parallelism > 1 && pvc != nil && !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
		checkCoLocated(t, name, pod)
	}
}

// checkTmp checks that every container of a pod has a writable temporary folder, an
// emptyDir at /tmp or named by TMPDIR: the root filesystem is read-only, and a plan
// read from stdin or a workbook's large parts are spooled there.
func checkTmp(t *testing.T, pod *corev1.PodSpec) {
	t.Helper()
	emptyDirs := map[string]bool{}
	for _, v := range pod.Volumes {
		if v.EmptyDir != nil {
			emptyDirs[v.Name] = true
		}
	}
	for _, c := range pod.Containers {
		tmp := "/tmp"
		for _, e := range c.Env {
			if e.Name == "TMPDIR" {
				tmp = e.Value
			}
		}
		ok := false
		for _, m := range c.VolumeMounts {
			if path.Clean(m.MountPath) == path.Clean(tmp) && emptyDirs[m.Name] && !m.ReadOnly && m.SubPath == "" {
				ok = true
			}
		}
		if !ok {
			t.Errorf("container %s: no writable emptyDir at %s: with a read-only root filesystem, a plan from stdin or a large workbook cannot be read", c.Name, tmp)
		}
	}
}

func isIndexed(spec *batchv1.JobSpec) bool {
	return spec.CompletionMode != nil && *spec.CompletionMode == batchv1.IndexedCompletion
}

func ptrString[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

// checkCoLocated checks that parallel pods sharing a ReadWriteOnce claim are kept on one
// node by a required pod affinity on their own Job's pods.
func checkCoLocated(t *testing.T, jobName string, pod *corev1.PodSpec) {
	t.Helper()
	if pod.Affinity != nil && pod.Affinity.PodAffinity != nil {
		for _, term := range pod.Affinity.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			if term.TopologyKey == corev1.LabelHostname && term.LabelSelector != nil &&
				term.LabelSelector.MatchLabels[batchv1.JobNameLabel] == jobName {
				return
			}
		}
	}
	t.Errorf("parallel pods share a ReadWriteOnce claim: keep them on one node (required podAffinity on %s=%s, topologyKey %s) or use a ReadWriteMany claim", batchv1.JobNameLabel, jobName, corev1.LabelHostname)
}

// failure is a failed pod as the Job controller sees it.
type failure struct {
	exitCode  int32
	disrupted bool // has the DisruptionTarget condition
}

// evaluate applies the rules as the Job controller does: the first rule that matches
// wins; "" means none did (the failure counts towards backoffLimit).
func evaluate(rules []batchv1.PodFailurePolicyRule, f failure) batchv1.PodFailurePolicyAction {
	for _, r := range rules {
		if r.OnExitCodes != nil {
			req := r.OnExitCodes
			if req.ContainerName != nil && *req.ContainerName != containerName {
				continue
			}
			if f.exitCode == 0 {
				continue
			}
			in := slices.Contains(req.Values, f.exitCode)
			if (req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && in) ||
				(req.Operator == batchv1.PodFailurePolicyOnExitCodesOpNotIn && !in) {
				return r.Action
			}
		}
		for _, p := range r.OnPodConditions {
			status := p.Status
			if status == "" {
				status = corev1.ConditionTrue
			}
			if f.disrupted && p.Type == corev1.DisruptionTarget && status == corev1.ConditionTrue {
				return r.Action
			}
		}
	}
	return ""
}

func checkPodFailurePolicy(t *testing.T, s *batchv1.JobSpec) {
	t.Helper()
	if s.PodFailurePolicy == nil {
		t.Error("no podFailurePolicy")
		return
	}
	rules := s.PodFailurePolicy.Rules
	for i, r := range rules {
		if (r.OnExitCodes == nil) == (len(r.OnPodConditions) == 0) {
			t.Errorf("rule %d: exactly one of onExitCodes and onPodConditions", i)
		}
		if r.Action == batchv1.PodFailurePolicyActionFailIndex && s.BackoffLimitPerIndex == nil {
			t.Errorf("rule %d: FailIndex needs backoffLimitPerIndex", i)
		}
		if req := r.OnExitCodes; req != nil {
			if !slices.IsSorted(req.Values) || len(slices.Compact(slices.Clone(req.Values))) != len(req.Values) {
				t.Errorf("rule %d: exit codes %v must be sorted and unique (the API refuses them otherwise)", i, req.Values)
			}
			if req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && slices.Contains(req.Values, 0) {
				t.Errorf("rule %d: 0 with operator In", i)
			}
		}
	}
	for _, code := range failJobCodes {
		got := evaluate(rules, failure{exitCode: code})
		want := batchv1.PodFailurePolicyActionFailJob
		// An Indexed Job may fail just the index for exit 3: the other shards' rows are
		// unaffected by this shard's not_found or rejected rows.
		if code == 3 && isIndexed(s) && s.BackoffLimitPerIndex != nil && got == batchv1.PodFailurePolicyActionFailIndex {
			continue
		}
		if got != want {
			t.Errorf("exit %d -> %q, want %s: retrying cannot help", code, got, want)
		}
	}
	for _, code := range countCodes {
		if got := evaluate(rules, failure{exitCode: code}); got != batchv1.PodFailurePolicyActionCount {
			t.Errorf("exit %d -> %q, want Count: temporary, worth another pod", code, got)
		}
	}
	// Evicted or preempted: SIGTERM, drain, exit 75; or killed outright (137).
	for _, code := range []int32{75, 137} {
		if got := evaluate(rules, failure{exitCode: code, disrupted: true}); got != batchv1.PodFailurePolicyActionIgnore {
			t.Errorf("a disrupted pod that exited %d -> %q, want Ignore (put the DisruptionTarget rule first)", code, got)
		}
	}
	// A bug (1) or an OOM kill (137) is not the plan's fault: it must not fail the Job
	// outright, nor be ignored forever.
	for _, code := range []int32{1, 137} {
		if got := evaluate(rules, failure{exitCode: code}); got != "" && got != batchv1.PodFailurePolicyActionCount {
			t.Errorf("exit %d -> %q, want it counted", code, got)
		}
	}
}

// restrictedVolumes are the volume types the "restricted" Pod Security Standard allows.
func restrictedVolume(v corev1.Volume) bool {
	s := v.VolumeSource
	return s.ConfigMap != nil || s.Secret != nil || s.PersistentVolumeClaim != nil ||
		s.EmptyDir != nil || s.Projected != nil || s.DownwardAPI != nil ||
		s.CSI != nil || s.Ephemeral != nil
}

// checkPodSecurity checks the "restricted" Pod Security Standard and the settings the
// brief asks for, and returns the pod's only container.
func checkPodSecurity(t *testing.T, pod *corev1.PodSpec) *corev1.Container {
	t.Helper()
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		t.Error("host namespaces")
	}
	for _, v := range pod.Volumes {
		if !restrictedVolume(v) {
			t.Errorf("volume %s: a type the restricted Pod Security Standard refuses", v.Name)
		}
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken should be false: the job does not use the Kubernetes API")
	}
	if len(pod.InitContainers) > 0 || len(pod.EphemeralContainers) > 0 {
		t.Error("init or ephemeral containers: the samples need none")
	}
	if len(pod.Containers) != 1 {
		t.Errorf("%d containers, want 1", len(pod.Containers))
		return nil
	}
	c := &pod.Containers[0]
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	csc := c.SecurityContext
	if csc == nil {
		csc = &corev1.SecurityContext{}
	}
	runAsNonRoot := firstNonNil(csc.RunAsNonRoot, psc.RunAsNonRoot)
	if runAsNonRoot == nil || !*runAsNonRoot {
		t.Error("runAsNonRoot should be true")
	}
	if u := firstNonNil(csc.RunAsUser, psc.RunAsUser); u == nil || *u != 65532 {
		t.Errorf("runAsUser %s, want 65532 (distroless nonroot)", ptrString(u))
	}
	if psc.FSGroup == nil || *psc.FSGroup != 65532 {
		t.Error("fsGroup should be 65532: the claim must be writable and the key file readable by the nonroot user")
	}
	seccomp := firstNonNil(csc.SeccompProfile, psc.SeccompProfile)
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("seccompProfile should be RuntimeDefault")
	}
	if csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem should be true")
	}
	if csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation should be false")
	}
	if csc.Privileged != nil && *csc.Privileged {
		t.Error("privileged")
	}
	if csc.Capabilities == nil || !slices.Contains(csc.Capabilities.Drop, "ALL") || len(csc.Capabilities.Add) > 0 {
		t.Error("capabilities should drop ALL and add none")
	}
	if _, ok := c.Resources.Requests[corev1.ResourceMemory]; !ok {
		t.Error("no memory request")
	}
	if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
		t.Error("no cpu request")
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		t.Error("no memory limit")
	}
	if !strings.Contains(c.Image, "@sha256:") {
		name := c.Image[strings.LastIndex(c.Image, "/")+1:]
		if _, tag, ok := strings.Cut(name, ":"); !ok || tag == "" || tag == "latest" {
			t.Errorf("image %q: pin a tag or a digest, not latest", c.Image)
		}
	}
	return c
}

func firstNonNil[T any](ps ...*T) *T {
	for _, p := range ps {
		if p != nil {
			return p
		}
	}
	return nil
}

var varRef = regexp.MustCompile(`\$?\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// checkContainer parses the reassign container's command line against the program's
// flags and returns what it does and its options as flag -> value (the environment
// variables included, flags win).
func checkContainer(t *testing.T, c *corev1.Container) (role, map[string]string) {
	t.Helper()
	if len(c.Command) > 0 {
		t.Errorf("command %q: the image has no shell; leave command empty to run its ENTRYPOINT", c.Command)
	}
	defined := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		if _, dup := defined[e.Name]; dup {
			t.Errorf("env %s defined twice", e.Name)
		}
		defined[e.Name] = e
		if (strings.HasPrefix(e.Name, "REASSIGN_") || strings.HasPrefix(e.Name, "DIALNEXA_")) && !slices.Contains(envVars, e.Name) {
			t.Errorf("env %s: the program reads no such variable", e.Name)
		}
	}
	if len(c.EnvFrom) > 0 {
		t.Error("envFrom: name each variable, so that the key cannot come in through it")
	}
	// $(VAR) is expanded by Kubernetes only from the container's env; anything else is
	// passed on literally.
	for _, a := range c.Args {
		for _, m := range varRef.FindAllStringSubmatch(a, -1) {
			if strings.HasPrefix(m[0], "$$") {
				continue
			}
			if _, ok := defined[m[1]]; !ok {
				t.Errorf("arg %q: $(%s) is not in the container's env, so Kubernetes leaves it unexpanded", a, m[1])
			}
		}
	}
	opts := map[string]string{}
	envOf := map[string]string{
		"plan": "REASSIGN_PLAN", "report": "REASSIGN_REPORT", "resume": "REASSIGN_RESUME",
		"api-key-file": "DIALNEXA_API_KEY_FILE", "shards": "REASSIGN_SHARDS",
	}
	for flag, env := range envOf {
		if e, ok := defined[env]; ok {
			if e.ValueFrom != nil {
				t.Errorf("env %s from valueFrom: give the path literally", env)
			}
			opts[flag] = e.Value
		}
	}
	args := c.Args
	r := liveRun
	if len(args) > 0 && args[0] == "verify" {
		r, args = verify, args[1:]
	}
	seen := map[string]bool{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			t.Errorf("arg %q: not a flag; reassign takes no positional argument (but a command first)", a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takesValue, known := flags[name]
		if !known {
			takesValue, known = pendingFlags[name]
		}
		if !known {
			t.Errorf("arg %q: unknown flag --%s; the program would exit 64", a, name)
			continue
		}
		if r == verify && !slices.Contains(verifyFlags, name) {
			t.Errorf("arg %q: verify takes no --%s (exit 64)", a, name)
		}
		if takesValue && !hasValue {
			if i+1 >= len(args) {
				t.Errorf("arg %q: no value", a)
				continue
			}
			i++
			value = args[i]
		}
		if !takesValue && !hasValue {
			value = "true"
		}
		if seen[name] {
			t.Errorf("--%s given twice", name)
		}
		seen[name] = true
		opts[name] = value
	}
	for _, f := range []string{"sandbox", "version"} {
		if _, ok := opts[f]; ok {
			t.Errorf("--%s in a manifest", f)
		}
	}
	if v, ok := opts["dry-run"]; ok && v != "false" {
		r = dryRun
	}
	return r, opts
}

func checkKey(t *testing.T, pod *corev1.PodSpec, c *corev1.Container, opts map[string]string, want settings) {
	t.Helper()
	for _, e := range c.Env {
		if e.Name == "DIALNEXA_API_KEY" {
			t.Error("DIALNEXA_API_KEY in the env: the key must come from the Secret file (DIALNEXA_API_KEY_FILE)")
		}
	}
	file, ok := opts["api-key-file"]
	if !ok || file == "" {
		t.Error("no DIALNEXA_API_KEY_FILE or --api-key-file")
		return
	}
	m, v := mountOf(pod, c, file)
	if m == nil || v == nil || v.Secret == nil {
		t.Errorf("key file %s is not in a mounted Secret volume", file)
		return
	}
	if !m.ReadOnly {
		t.Error("the key's volume mount should be readOnly")
	}
	if v.Secret.DefaultMode == nil || *v.Secret.DefaultMode&0o007 != 0 {
		t.Errorf("key file mode %s: any user of the pod could read the key; use 0440 with fsGroup", ptrOctal(v.Secret.DefaultMode))
	}
	if key := projectedKey(v.Secret.Items, path.Base(file)); key != "api-key" {
		t.Errorf("key file %s: the Secret's key is %q, want api-key (the README creates it so)", file, key)
	}
	if v.Secret.SecretName != want.keySecret {
		t.Errorf("the key's Secret is %q, want %q: the one set in kustomization.yaml", v.Secret.SecretName, want.keySecret)
	}
}

func checkPlan(t *testing.T, pod *corev1.PodSpec, c *corev1.Container, opts map[string]string, all objects) {
	t.Helper()
	file := opts["plan"]
	if file == "" || file == "-" {
		t.Error("no --plan file")
		return
	}
	m, v := mountOf(pod, c, file)
	if m == nil || v == nil || v.ConfigMap == nil {
		t.Errorf("plan %s is not in a mounted ConfigMap volume", file)
		return
	}
	if !m.ReadOnly {
		t.Error("the plan's volume mount should be readOnly")
	}
	key := projectedKey(v.ConfigMap.Items, path.Base(file))
	cm, _ := all.get("ConfigMap", v.ConfigMap.Name).(*corev1.ConfigMap)
	if cm == nil {
		t.Errorf("ConfigMap %s: not made by this setup (the plan's name must carry the generator's hash)", v.ConfigMap.Name)
		return
	}
	_, text := cm.Data[key]
	_, binary := cm.BinaryData[key]
	if key == "" || !text && !binary {
		t.Errorf("ConfigMap %s has no key for %s", cm.Name, file)
	}
}

// checkOutput checks that the file --flag names is on a writable claim, under a name new
// for every pod, and returns the claim.
func checkOutput(t *testing.T, pod *corev1.PodSpec, c *corev1.Container, opts map[string]string, flag string, all objects) *corev1.PersistentVolumeClaim {
	t.Helper()
	file := opts[flag]
	if file == "" || file == "-" {
		t.Errorf("no --%s file on the claim: a file in the pod is lost with it", flag)
		return nil
	}
	m, v := mountOf(pod, c, file)
	if m == nil || v == nil || v.PersistentVolumeClaim == nil {
		t.Errorf("--%s %s is not in a mounted PersistentVolumeClaim", flag, file)
		return nil
	}
	if m.ReadOnly || v.PersistentVolumeClaim.ReadOnly {
		t.Errorf("--%s: the claim is mounted read-only", flag)
	}
	if !strings.Contains(path.Base(file), "$(POD_NAME)") {
		t.Errorf("--%s %s: name it after the pod, $(POD_NAME), so that a retried pod never meets an existing file (exit 78)", flag, file)
	}
	for _, e := range c.Env {
		if e.Name == "POD_NAME" && (e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.name") {
			t.Error("POD_NAME should come from the downward API, fieldRef metadata.name")
		}
	}
	pvc, _ := all.get("PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName).(*corev1.PersistentVolumeClaim)
	if pvc == nil {
		t.Errorf("PersistentVolumeClaim %s: the storage setup does not make it", v.PersistentVolumeClaim.ClaimName)
	}
	return pvc
}

// outputFlags are the flags that name files a pod writes.
var outputFlags = []string{"report", "undo-plan", "summary"}

// checkOutputs checks the workloads' files against each other, with $(POD_NAME) set to
// an example of their pods' names: no two files share a name, and each --resume pattern
// matches its own pods' reports and nothing else (another Job's reports, an undo plan or
// a summary are no report to resume from).
func checkOutputs(t *testing.T, loads []workload) {
	t.Helper()
	type file struct{ load, flag, name string }
	var files []file
	for _, w := range loads {
		for _, flag := range outputFlags {
			if f, ok := w.opts[flag]; ok {
				files = append(files, file{w.name, flag, strings.ReplaceAll(f, "$(POD_NAME)", w.podName)})
			}
		}
	}
	for i, a := range files {
		for _, b := range files[i+1:] {
			if a.name == b.name {
				t.Errorf("%s --%s and %s --%s both write %s", a.load, a.flag, b.load, b.flag, a.name)
			}
		}
	}
	for _, w := range loads {
		glob, ok := w.opts["resume"]
		if !ok {
			continue
		}
		if path.Dir(glob) != path.Dir(w.opts["report"]) {
			t.Errorf("%s: --resume=%s does not look where --report=%s writes", w.name, glob, w.opts["report"])
		}
		for _, f := range files {
			matched, err := path.Match(glob, f.name)
			if err != nil {
				t.Fatalf("%s: --resume=%s: %v", w.name, glob, err)
			}
			own := f.load == w.name && f.flag == "report"
			switch {
			case own && !matched:
				t.Errorf("%s: --resume=%s does not match its pods' report %s: a retry would send every row again", w.name, glob, f.name)
			case !own && matched:
				t.Errorf("%s: --resume=%s matches %s (%s --%s), which is no report of this Job", w.name, glob, f.name, f.load, f.flag)
			}
		}
	}
}

// checkHelperPod checks the report reader: the same security, the claim read-only.
func checkHelperPod(t *testing.T, p *corev1.Pod, all objects) {
	if p.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Error("restartPolicy should be Never")
	}
	if p.Spec.ActiveDeadlineSeconds == nil {
		t.Error("no activeDeadlineSeconds: a forgotten reader would hold the ReadWriteOnce claim forever")
	}
	checkTmp(t, &p.Spec)
	c := checkPodSecurity(t, &p.Spec)
	if c == nil {
		return
	}
	for _, v := range p.Spec.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		if !v.PersistentVolumeClaim.ReadOnly {
			t.Errorf("claim %s should be mounted read-only by a reader", v.PersistentVolumeClaim.ClaimName)
		}
		if all.get("PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName) == nil {
			t.Errorf("PersistentVolumeClaim %s: the storage setup does not make it", v.PersistentVolumeClaim.ClaimName)
		}
	}
}

func checkConfigMap(t *testing.T, cm *corev1.ConfigMap) {
	if cm.Immutable == nil || !*cm.Immutable {
		t.Error("a plan ConfigMap should be immutable: a plan must not change under a running migration")
	}
	if !hashSuffix.MatchString(cm.Name) {
		t.Errorf("ConfigMap %s: no content hash in its name, so a new plan would not make new pods", cm.Name)
	}
	for key, plan := range cm.Data {
		header, _, _ := strings.Cut(plan, "\n")
		cols := strings.Split(strings.ToLower(header), ",")
		if !slices.Contains(cols, "id") {
			t.Errorf("%s: header %q has no id column", key, header)
		}
	}
	for key, plan := range cm.BinaryData {
		if !strings.HasPrefix(string(plan), "PK\x03\x04") {
			t.Errorf("%s: binary, but not a workbook (.xlsx)", key)
		}
	}
}

func checkPVC(t *testing.T, pvc *corev1.PersistentVolumeClaim) {
	if len(pvc.Spec.AccessModes) == 0 {
		t.Error("no accessModes")
	}
	if _, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		t.Error("no storage request")
	}
}

// TestSettingsInOnePlace changes the image, the plan (to a workbook) and the key's Secret
// in kustomization.yaml alone, and checks that every workload of every component follows.
func TestSettingsInOnePlace(t *testing.T) {
	t.Parallel()
	workbook, err := os.ReadFile("../plan.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	changes := []struct{ from, to string }{
		{"newName: registry.example.com/reassign", "newName: registry.test/ops/reassign"},
		{"newTag: v1.0.0", "newTag: v2.3.4"},
		{"- plan=plan.csv", "- plan=team-move.xlsx"},
		{"- keySecret=dialnexa-api-key", "- keySecret=ops-dialnexa"},
	}
	all := setups[slices.IndexFunc(setups, func(s setup) bool { return s.name == "all components" })]
	edit := func(name string, data []byte) []byte {
		data = withComponents(t, all.components)(name, data)
		if name != "kustomization.yaml" {
			return data
		}
		s := string(data)
		for _, c := range changes {
			if strings.Count(s, c.from) != 1 {
				t.Fatalf("kustomization.yaml: %q is not there once; the test sets each setting by replacing it", c.from)
			}
			s = strings.Replace(s, c.from, c.to, 1)
		}
		return []byte(s)
	}
	fsys := samplesFS(t, edit, map[string][]byte{"team-move.xlsx": workbook})
	docs := render(t, fsys, "changed settings", ".")
	storage := render(t, fsys, "storage", "storage")
	loads := checkObjects(t, docs, index(t, docs, storage), settings{image: "registry.test/ops/reassign:v2.3.4", keySecret: "ops-dialnexa"})
	if len(loads) != 3 {
		t.Errorf("%d workloads, want the dry run, the run and the verify", len(loads))
	}
	for _, d := range docs {
		if cm, ok := d.obj.(*corev1.ConfigMap); ok {
			if _, ok := cm.BinaryData["plan"]; !ok {
				t.Errorf("ConfigMap %s: the workbook is not its binaryData[plan]", cm.Name)
			}
		}
	}
}

// mountOf finds the volume mount whose mountPath is the directory of file, and its volume.
func mountOf(pod *corev1.PodSpec, c *corev1.Container, file string) (*corev1.VolumeMount, *corev1.Volume) {
	dir := path.Dir(path.Clean(file))
	for i := range c.VolumeMounts {
		m := &c.VolumeMounts[i]
		if path.Clean(m.MountPath) != dir {
			continue
		}
		for j := range pod.Volumes {
			if pod.Volumes[j].Name == m.Name {
				return m, &pod.Volumes[j]
			}
		}
		return m, nil
	}
	return nil, nil
}

// projectedKey returns the key of a configMap or secret volume that appears as file name
// base, or "" if none does.
func projectedKey(items []corev1.KeyToPath, base string) string {
	if len(items) == 0 {
		return base // every key appears as a file of its own name
	}
	for _, it := range items {
		if it.Path == base {
			return it.Key
		}
	}
	return ""
}

func ptrOctal(p *int32) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprintf("%#o", *p)
}

// TestStrictDecodingCatchesMistakes makes sure the decoding above would catch what it is
// there for.
func TestStrictDecodingCatchesMistakes(t *testing.T) {
	good := "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n"
	if _, _, _, err := decode([]byte(good)); err != nil {
		t.Fatalf("the good document: %v", err)
	}
	for name, bad := range map[string]string{
		"misspelt field":   strings.Replace(good, "restartPolicy", "restartPolcy", 1),
		"wrong case":       strings.Replace(good, "restartPolicy", "restartpolicy", 1),
		"duplicate field":  good + "  backoffLimit: 1\n  backoffLimit: 2\n",
		"unknown kind":     strings.Replace(good, "kind: Job", "kind: Deployment", 1),
		"wrong apiVersion": strings.Replace(good, "batch/v1", "batch/v1beta1", 1),
		"wrong type":       good + "  backoffLimit: three\n",
	} {
		if _, _, _, err := decode([]byte(bad)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// TestPolicyEvaluation checks evaluate on a policy in the wrong order.
func TestPolicyEvaluation(t *testing.T) {
	name := containerName
	rules := []batchv1.PodFailurePolicyRule{
		{Action: batchv1.PodFailurePolicyActionCount, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{ContainerName: &name, Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{75}}},
		{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
	}
	if got := evaluate(rules, failure{exitCode: 75, disrupted: true}); got != batchv1.PodFailurePolicyActionCount {
		t.Errorf("first matching rule should win, got %q", got)
	}
	if got := evaluate(rules, failure{exitCode: 3, disrupted: true}); got != batchv1.PodFailurePolicyActionIgnore {
		t.Errorf("got %q, want Ignore", got)
	}
	if got := evaluate(rules, failure{exitCode: 3}); got != "" {
		t.Errorf("got %q, want no rule", got)
	}
}
