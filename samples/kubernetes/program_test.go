package manifests

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// buildProgram builds the program (../..) as the Dockerfile does: static, no cgo, paths
// trimmed, symbols stripped, the version stamped in.
func buildProgram(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the program; skipped with -short")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	bin := filepath.Join(t.TempDir(), "reassign")
	build := exec.Command(gobin, "build", "-trimpath", "-ldflags", "-s -w -X main.version=manifests-test", "-o", bin, ".")
	build.Dir = filepath.Join("..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the program in %s: %v\n%s", build.Dir, err, out)
	}
	return bin
}

// TestProgram builds the program once and checks it against the image and the manifests.
func TestProgram(t *testing.T) {
	t.Parallel()
	bin := buildProgram(t)
	t.Run("static binary", func(t *testing.T) { checkStaticBinary(t, bin) })
	t.Run("knows the manifests", func(t *testing.T) { checkProgramKnowsTheManifests(t, bin) })
}

// checkStaticBinary checks what the image relies on: distroless static has no libc, so
// the binary must need none (no ELF interpreter, no shared library), and it is built as
// the Dockerfile says (what `go version -m` prints).
func checkStaticBinary(t *testing.T, bin string) {
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: it is dynamically linked and will not start on distroless static")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("shared libraries %v (%v), want none", libs, err)
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range info.Settings {
		got[s.Key] = s.Value
	}
	for key, want := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true"} {
		if got[key] != want {
			t.Errorf("build setting %s=%q, want %q", key, got[key], want)
		}
	}
	// -trimpath keeps -ldflags out of the build information: the version shows instead.
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || !strings.Contains(string(out), "manifests-test") {
		t.Errorf("--version: %q, %v; want the stamped version", out, err)
	}
}

// checkProgramKnowsTheManifests checks, against the real program, that it knows every
// flag and variable the manifests use, and that each pod's command line runs: against the
// program's sandbox, with the plan the base makes, writing the files the pod would write.
func checkProgramKnowsTheManifests(t *testing.T, bin string) {
	// Each command's help lists its own flags only: a run's (reassign --help), verify's
	// (reassign help verify).
	helps := map[string][]byte{}
	for _, cmd := range []string{"run", "verify"} {
		help, err := exec.Command(bin, "help", cmd).Output()
		if err != nil {
			t.Fatalf("reassign help %s: %v", cmd, err)
		}
		helps[cmd] = help
	}
	if run, err := exec.Command(bin, "--help").Output(); err != nil || !bytes.Equal(run, helps["run"]) {
		t.Fatalf("reassign --help (%v) is not reassign help run", err)
	}
	inHelp := func(cmd, flag string) bool {
		return regexp.MustCompile(`(?m)^\s*--` + regexp.QuoteMeta(flag) + `\b`).Match(helps[cmd])
	}
	for flag := range pendingFlags {
		for cmd := range helps {
			if inHelp(cmd, flag) {
				t.Errorf("--%s is in reassign help %s now: move it from pendingFlags to flags", flag, cmd)
			}
		}
	}
	s := setups[slices.IndexFunc(setups, func(s setup) bool { return s.name == "all components" })]
	docs := renderSetup(t, s)
	var plan []byte
	used := map[string]bool{}
	for _, d := range docs {
		if cm, ok := d.obj.(*corev1.ConfigMap); ok {
			plan = append(cm.BinaryData["plan"], cm.Data["plan"]...)
		}
	}
	if len(plan) == 0 {
		t.Fatal("no plan in the base's ConfigMap")
	}
	for _, d := range docs {
		for _, c := range containersOf(d.obj) {
			if c.Name != containerName {
				continue
			}
			cmd := "run"
			if len(c.Args) > 0 && !strings.HasPrefix(c.Args[0], "-") {
				cmd = c.Args[0]
			}
			if helps[cmd] == nil {
				t.Errorf("%v: the command %q is not one the samples are checked against", d, cmd)
				continue
			}
			for _, a := range c.Args {
				name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
				used[name] = true
				if strings.HasPrefix(a, "-") && !pendingFlags[name] && !inHelp(cmd, name) {
					t.Errorf("%v: --%s is not in reassign help %s", d, name, cmd)
				}
			}
			for _, e := range c.Env {
				// A command reads only its own flags' variables: one it does not list
				// would be ignored.
				if (strings.HasPrefix(e.Name, "REASSIGN_") || strings.HasPrefix(e.Name, "DIALNEXA_")) && e.Name != "DIALNEXA_API_KEY" &&
					!bytes.Contains(helps[cmd], []byte("$"+e.Name+"]")) {
					t.Errorf("%v: env %s is not in reassign help %s", d, e.Name, cmd)
				}
			}
			t.Run(d.name, func(t *testing.T) { runAgainstSandbox(t, bin, d, c, plan) })
		}
	}
	for flag := range pendingFlags {
		if !used[flag] {
			t.Errorf("pendingFlags lists --%s, which no manifest uses: keep the list to what the samples need", flag)
		}
	}
}

// runAgainstSandbox runs container c's command line with the plan, its files in a
// temporary folder instead of the claim, and the sandbox instead of the key; flags the
// program does not have yet are left out. The run must end 0 or 3 (verify finds the
// sandbox's numbers differ from the plan) and write every file it names.
func runAgainstSandbox(t *testing.T, bin string, d doc, c corev1.Container, plan []byte) {
	dir := t.TempDir()
	planFile := filepath.Join(dir, "plan")
	if err := os.WriteFile(planFile, plan, 0o644); err != nil {
		t.Fatal(err)
	}
	reports := filepath.Join(dir, "reports")
	if err := os.Mkdir(reports, 0o755); err != nil {
		t.Fatal(err)
	}
	podName := d.name + "-q8x4v"
	env := []string{}
	if j, ok := d.obj.(*batchv1.Job); ok && isIndexed(&j.Spec) {
		podName = d.name + "-0-q8x4v"
		env = append(env, "JOB_COMPLETION_INDEX=0")
	}
	for _, e := range c.Env {
		if e.Value != "" && e.Name != "DIALNEXA_API_KEY_FILE" {
			env = append(env, e.Name+"="+e.Value)
		}
	}
	var args, outputs []string
	for _, a := range c.Args {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && pendingFlags[name] {
			continue
		}
		a = strings.ReplaceAll(a, "/plan/plan", planFile)
		a = strings.ReplaceAll(a, "/reports/", reports+"/")
		a = strings.ReplaceAll(a, "$(POD_NAME)", podName)
		if slices.Contains(outputFlags, name) {
			_, file, _ := strings.Cut(a, "=")
			outputs = append(outputs, file)
		}
		args = append(args, a)
	}
	args = append(args, "--sandbox", "--termination-log=-")
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() == 3:
	default:
		t.Fatalf("reassign %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	for _, f := range outputs {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("reassign %s: did not write %s: %v", strings.Join(args, " "), f, err)
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
