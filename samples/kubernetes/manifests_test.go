// Package manifests checks the Kubernetes samples beside it: every document of every
// *.yaml file decodes strictly into the real API type of its kind, and the settings the
// migration depends on are there (the README's "Flags", "Exit codes", "Interruptions, resume and shards").
//
//	cd samples/kubernetes && go test ./...
//
// TestProgramKnowsTheManifests also builds the program (../..) and checks the manifests'
// flags against its --help and the example plan against a --dry-run; -short skips it.
package manifests

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// flags are the program's flags (README, "Flags"): name -> whether it takes a value.
var flags = map[string]bool{
	"plan": true, "report": true, "dry-run": false, "rate": true, "burst": true,
	"workers": true, "max-attempts": true, "timeout": true, "base-url": true,
	"api-key-file": true, "resume": true, "skip-invalid": false, "null-token": true,
	"max-errors": true, "shards": true, "shard-index": true, "log-format": true,
	"log-level": true, "sandbox": false, "version": false, "no-snapshot": false,
	"undo-plan": true, "limit": true, "summary": true, "termination-log": true, "yes": false,
}

// envVars are the environment variables the program reads (README, "Flags"). Any other
// REASSIGN_ or DIALNEXA_ variable in a manifest is a typo the program would ignore.
var envVars = []string{
	"REASSIGN_PLAN", "REASSIGN_REPORT", "REASSIGN_DRY_RUN", "REASSIGN_RATE",
	"REASSIGN_BURST", "REASSIGN_WORKERS", "REASSIGN_MAX_ATTEMPTS", "REASSIGN_TIMEOUT",
	"DIALNEXA_BASE_URL", "DIALNEXA_API_KEY_FILE", "DIALNEXA_API_KEY", "REASSIGN_RESUME",
	"REASSIGN_SKIP_INVALID", "REASSIGN_NULL_TOKEN", "REASSIGN_MAX_ERRORS",
	"REASSIGN_SHARDS", "REASSIGN_LOG_FORMAT", "REASSIGN_LOG_LEVEL", "REASSIGN_LIMIT",
	"REASSIGN_SUMMARY", "REASSIGN_TERMINATION_LOG", "REASSIGN_YES",
}

// Exit codes (README, "Exit codes") and the podFailurePolicy action each must get.
var (
	failJobCodes = []int32{3, 64, 65, 77, 78}
	countCodes   = []int32{75}
)

const containerName = "reassign"

// doc is one YAML document of one file, decoded into the type of its kind.
type doc struct {
	file  string
	index int
	kind  string
	name  string
	obj   any
}

func (d doc) String() string { return fmt.Sprintf("%s#%d %s/%s", d.file, d.index, d.kind, d.name) }

// decoders map apiVersion/kind to a fresh value of the real type. Any other kind fails.
var decoders = map[string]func() any{
	"batch/v1/Job":             func() any { return &batchv1.Job{} },
	"batch/v1/CronJob":         func() any { return &batchv1.CronJob{} },
	"v1/Secret":                func() any { return &corev1.Secret{} },
	"v1/ConfigMap":             func() any { return &corev1.ConfigMap{} },
	"v1/PersistentVolumeClaim": func() any { return &corev1.PersistentVolumeClaim{} },
	"v1/Pod":                   func() any { return &corev1.Pod{} },
}

// splitDocuments splits a YAML stream on its "---" lines, dropping documents that hold
// only comments and blank lines.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	flush := func() {
		for _, line := range strings.Split(cur.String(), "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
				docs = append(docs, bytes.Clone(cur.Bytes()))
				break
			}
		}
		cur.Reset()
	}
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if strings.TrimRight(line, " \t\r\n") == "---" {
			flush()
			continue
		}
		cur.WriteString(line)
	}
	flush()
	return docs
}

// decode decodes one document strictly: yaml.UnmarshalStrict refuses unknown and
// duplicate fields; sigs.k8s.io/json, the API server's decoder, also refuses a field
// whose name differs only in case ("restartpolicy"), which encoding/json would accept.
func decode(data []byte) (kind, name string, obj any, err error) {
	var tm struct {
		metav1.TypeMeta `json:",inline"`
		Metadata        struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(data, &tm); err != nil {
		return "", "", nil, err
	}
	newObj, ok := decoders[tm.APIVersion+"/"+tm.Kind]
	if !ok {
		return tm.Kind, tm.Metadata.Name, nil, fmt.Errorf("unknown kind %q (apiVersion %q): the test knows %s", tm.Kind, tm.APIVersion, strings.Join(sortedKeys(decoders), ", "))
	}
	obj = newObj()
	if err := yaml.UnmarshalStrict(data, obj); err != nil {
		return tm.Kind, tm.Metadata.Name, nil, err
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return tm.Kind, tm.Metadata.Name, nil, err
	}
	strict, err := sigsjson.UnmarshalStrict(js, newObj())
	if err != nil {
		return tm.Kind, tm.Metadata.Name, nil, err
	}
	if len(strict) > 0 {
		return tm.Kind, tm.Metadata.Name, nil, errors.Join(strict...)
	}
	return tm.Kind, tm.Metadata.Name, obj, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// loadAll decodes every document of every *.yaml file in this directory.
func loadAll(t *testing.T) []doc {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no *.yaml file here")
	}
	var docs []doc
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		parts := splitDocuments(data)
		if len(parts) == 0 {
			t.Errorf("%s: no document", file)
		}
		for i, part := range parts {
			kind, name, obj, err := decode(part)
			if err != nil {
				t.Errorf("%s#%d %s/%s: %v", file, i, kind, name, err)
				continue
			}
			if name == "" {
				t.Errorf("%s#%d %s: no metadata.name", file, i, kind)
			}
			docs = append(docs, doc{file: file, index: i, kind: kind, name: name, obj: obj})
		}
	}
	return docs
}

// objects indexes the documents by kind and name, for references between them.
type objects map[string]any

func (o objects) get(kind, name string) any { return o[kind+"/"+name] }

func TestManifests(t *testing.T) {
	docs := loadAll(t)
	all := objects{}
	for _, d := range docs {
		key := d.kind + "/" + d.name
		if _, dup := all[key]; dup {
			t.Errorf("%v: defined twice", d)
		}
		all[key] = d.obj
	}
	var jobs, indexed, cronJobs int
	for _, d := range docs {
		t.Run(d.String(), func(t *testing.T) {
			switch o := d.obj.(type) {
			case *batchv1.Job:
				jobs++
				if isIndexed(&o.Spec) {
					indexed++
				}
				checkJob(t, o.Name, &o.Spec, all)
			case *batchv1.CronJob:
				cronJobs++
				checkCronJob(t, o, all)
			case *corev1.Pod:
				checkHelperPod(t, o, all)
			case *corev1.Secret:
				checkSecret(t, o)
			case *corev1.ConfigMap:
				checkConfigMap(t, o)
			case *corev1.PersistentVolumeClaim:
				checkPVC(t, o)
			default:
				t.Errorf("no check for %T", o)
			}
		})
	}
	if jobs-indexed < 1 || indexed < 1 || cronJobs < 1 {
		t.Errorf("want at least one Job, one Indexed Job and one CronJob; have %d Jobs (%d Indexed), %d CronJobs", jobs, indexed, cronJobs)
	}
}

func isIndexed(spec *batchv1.JobSpec) bool {
	return spec.CompletionMode != nil && *spec.CompletionMode == batchv1.IndexedCompletion
}

func checkCronJob(t *testing.T, cj *batchv1.CronJob, all objects) {
	s := &cj.Spec
	if s.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy %q, want Forbid: two runs at once would send every row twice", s.ConcurrencyPolicy)
	}
	if s.StartingDeadlineSeconds == nil || *s.StartingDeadlineSeconds <= 0 {
		t.Error("no startingDeadlineSeconds: a missed run would start at any later hour")
	}
	if s.SuccessfulJobsHistoryLimit == nil || s.FailedJobsHistoryLimit == nil {
		t.Error("successfulJobsHistoryLimit and failedJobsHistoryLimit should be set")
	}
	if s.Schedule == "" {
		t.Error("no schedule")
	}
	if isIndexed(&s.JobTemplate.Spec) {
		t.Error("an Indexed jobTemplate: not what this sample shows")
	}
	// Jobs created by a CronJob are named <cronjob>-<minutes>; the name is only used for
	// the pod affinity check, which a non-indexed Job does not need.
	checkJob(t, cj.Name, &s.JobTemplate.Spec, all)
}

func checkJob(t *testing.T, name string, s *batchv1.JobSpec, all objects) {
	t.Helper()
	pod := &s.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q, want Never (podFailurePolicy requires it, and a restarted container would reuse its pod's report name)", pod.RestartPolicy)
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
		t.Error("terminationGracePeriodSeconds should be set and at least 30: the drain on SIGTERM takes up to 20 s (README, \"Interruptions, resume and shards\")")
	}
	checkPodFailurePolicy(t, s)

	c := checkPodSecurity(t, pod)
	if c == nil {
		return
	}
	if c.Name != containerName {
		t.Errorf("container %q, want %q (the podFailurePolicy rules name it)", c.Name, containerName)
	}
	if c.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError {
		t.Errorf("terminationMessagePolicy %q, want FallbackToLogsOnError: the one-line summary reassign writes to /dev/termination-log, or the log's last lines if it died first (README, \"Running in Kubernetes\")", c.TerminationMessagePolicy)
	}
	opts := checkContainer(t, c)
	checkKey(t, pod, c, opts, all)
	checkPlan(t, pod, c, opts, all)
	pvc := checkReport(t, pod, c, opts, all)

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

// checkContainer parses the reassign container's args against the program's flags and
// returns them as flag -> value (the environment variables included, flags win).
func checkContainer(t *testing.T, c *corev1.Container) map[string]string {
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
			t.Errorf("env %s: the program reads no such variable (README, \"Flags\")", e.Name)
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
	seen := map[string]bool{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			t.Errorf("arg %q: not a flag; reassign takes no positional argument", a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takesValue, known := flags[name]
		if !known {
			t.Errorf("arg %q: unknown flag --%s (README, \"Flags\"); the program would exit 64", a, name)
			continue
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
			t.Errorf("--%s in a migration manifest", f)
		}
	}
	if resume, ok := opts["resume"]; ok {
		// A plain file would not exist for the first pod (exit 78): a glob over the
		// reports of earlier pods, beside this pod's own report, matches nothing then.
		if !strings.Contains(resume, "*") {
			t.Errorf("--resume=%s: want a glob of earlier reports, not one file", resume)
		}
		if path.Dir(resume) != path.Dir(opts["report"]) {
			t.Errorf("--resume=%s does not look where --report=%s writes", resume, opts["report"])
		}
	}
	return opts
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

func checkKey(t *testing.T, pod *corev1.PodSpec, c *corev1.Container, opts map[string]string, all objects) {
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
	key := projectedKey(v.Secret.Items, path.Base(file))
	if key == "" {
		t.Errorf("key file %s: no item of secret volume %s has that path", file, v.Name)
		return
	}
	s, _ := all.get("Secret", v.Secret.SecretName).(*corev1.Secret)
	if s == nil {
		t.Errorf("Secret %s: no such manifest here", v.Secret.SecretName)
	} else if _, ok := s.StringData[key]; !ok {
		if _, ok := s.Data[key]; !ok {
			t.Errorf("Secret %s has no key %s", s.Name, key)
		}
	}
}

func ptrOctal(p *int32) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprintf("%#o", *p)
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
		t.Errorf("ConfigMap %s: no such manifest here", v.ConfigMap.Name)
	} else if _, ok := cm.Data[key]; key == "" || !ok {
		t.Errorf("ConfigMap %s has no key for %s", cm.Name, file)
	}
}

// checkReport checks that the report goes to a PersistentVolumeClaim under a name that
// is new for every pod, and returns the claim.
func checkReport(t *testing.T, pod *corev1.PodSpec, c *corev1.Container, opts map[string]string, all objects) *corev1.PersistentVolumeClaim {
	t.Helper()
	file := opts["report"]
	if file == "" || file == "-" {
		t.Error("no --report file: the default name is in the read-only working directory, and lost with the pod")
		return nil
	}
	m, v := mountOf(pod, c, file)
	if m == nil || v == nil || v.PersistentVolumeClaim == nil {
		t.Errorf("report %s is not in a mounted PersistentVolumeClaim", file)
		return nil
	}
	if m.ReadOnly || v.PersistentVolumeClaim.ReadOnly {
		t.Error("the report's claim is mounted read-only")
	}
	if !strings.Contains(path.Base(file), "$(POD_NAME)") {
		t.Errorf("report %s: name it after the pod, $(POD_NAME), so that a retried pod never meets an existing report (exit 78)", file)
	}
	for _, e := range c.Env {
		if e.Name == "POD_NAME" && (e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.name") {
			t.Error("POD_NAME should come from the downward API, fieldRef metadata.name")
		}
	}
	pvc, _ := all.get("PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName).(*corev1.PersistentVolumeClaim)
	if pvc == nil {
		t.Errorf("PersistentVolumeClaim %s: no such manifest here", v.PersistentVolumeClaim.ClaimName)
	}
	return pvc
}

// checkHelperPod checks the report reader: the same security, the claim read-only.
func checkHelperPod(t *testing.T, p *corev1.Pod, all objects) {
	if p.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Error("restartPolicy should be Never")
	}
	if p.Spec.ActiveDeadlineSeconds == nil {
		t.Error("no activeDeadlineSeconds: a forgotten reader would hold the ReadWriteOnce claim forever")
	}
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
			t.Errorf("PersistentVolumeClaim %s: no such manifest here", v.PersistentVolumeClaim.ClaimName)
		}
	}
}

func checkSecret(t *testing.T, s *corev1.Secret) {
	if s.Type != corev1.SecretTypeOpaque {
		t.Errorf("type %q, want Opaque", s.Type)
	}
	if len(s.Data)+len(s.StringData) == 0 {
		t.Error("no data")
	}
}

func checkConfigMap(t *testing.T, cm *corev1.ConfigMap) {
	if cm.Immutable == nil || !*cm.Immutable {
		t.Error("a plan ConfigMap should be immutable: a plan must not change under a running migration")
	}
	for key, plan := range cm.Data {
		header, _, _ := strings.Cut(plan, "\n")
		cols := strings.Split(strings.ToLower(header), ",")
		if !slices.Contains(cols, "id") {
			t.Errorf("%s: header %q has no id column", key, header)
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

// TestProgramKnowsTheManifests builds the program and checks, against the real thing,
// that it knows every flag the manifests pass and that the example plan is a valid plan.
func TestProgramKnowsTheManifests(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the program; skipped with -short")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	bin := filepath.Join(t.TempDir(), "reassign")
	build := exec.Command(gobin, "build", "-o", bin, ".")
	build.Dir = filepath.Join("..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the program in %s: %v\n%s", build.Dir, err, out)
	}
	help, err := exec.Command(bin, "--help").Output()
	if err != nil {
		t.Fatalf("reassign --help: %v", err)
	}
	for _, d := range loadAll(t) {
		for _, c := range containersOf(d.obj) {
			if c.Name != containerName {
				continue
			}
			for _, a := range c.Args {
				if !strings.HasPrefix(a, "-") {
					continue
				}
				name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
				if !regexp.MustCompile(`(?m)^\s*--` + regexp.QuoteMeta(name) + `\b`).Match(help) {
					t.Errorf("%v: --%s is not in reassign --help", d, name)
				}
			}
			for _, e := range c.Env {
				if (strings.HasPrefix(e.Name, "REASSIGN_") || strings.HasPrefix(e.Name, "DIALNEXA_")) && !bytes.Contains(help, []byte("$"+e.Name+"]")) {
					t.Errorf("%v: env %s is not in reassign --help", d, e.Name)
				}
			}
		}
		cm, ok := d.obj.(*corev1.ConfigMap)
		if !ok {
			continue
		}
		for key, plan := range cm.Data {
			file := filepath.Join(t.TempDir(), key)
			if err := os.WriteFile(file, []byte(plan), 0o644); err != nil {
				t.Fatal(err)
			}
			run := exec.Command(bin, "--dry-run", "--plan", file, "--report", "-", "--log-format", "json")
			run.Env = []string{}
			var stderr bytes.Buffer
			run.Stderr = &stderr
			if err := run.Run(); err != nil {
				t.Errorf("%v: %s is not a valid plan: reassign --dry-run: %v\n%s", d, key, err, stderr.String())
			}
		}
	}
}

func containersOf(obj any) []corev1.Container {
	switch o := obj.(type) {
	case *batchv1.Job:
		return o.Spec.Template.Spec.Containers
	case *batchv1.CronJob:
		return o.Spec.JobTemplate.Spec.Template.Spec.Containers
	case *corev1.Pod:
		return o.Spec.Containers
	}
	return nil
}
