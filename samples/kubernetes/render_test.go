package manifests

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// root is where the samples are put in the in-memory file system that renders them.
const root = "/samples"

// setup is one way the samples are meant to be rendered: a kustomization (the base,
// with the components it lists set to components, or another folder) and the objects
// it must make.
type setup struct {
	name       string
	dir        string   // relative to the samples' folder
	components []string // the base's components list; nil: as the file has it
	want       []string // "Kind/name", sorted; a generated name without its hash
}

// setups are every component alone and all at once (no name may clash), and the
// kustomizations beside the base. TestSetupsCoverEveryFolder keeps the list complete.
var setups = []setup{
	{"dry-run", ".", []string{"dry-run"}, []string{"ConfigMap/reassign-plan", "Job/reassign-dry-run"}},
	{"run", ".", []string{"run"}, []string{"ConfigMap/reassign-plan", "Job/reassign-run"}},
	{"verify", ".", []string{"verify"}, []string{"ConfigMap/reassign-plan", "CronJob/reassign-verify"}},
	{"all components", ".", []string{"dry-run", "run", "verify"}, []string{"ConfigMap/reassign-plan", "CronJob/reassign-verify", "Job/reassign-dry-run", "Job/reassign-run"}},
	{"storage", "storage", nil, []string{"PersistentVolumeClaim/reassign-reports"}},
	{"reader", "reader", nil, []string{"Pod/reassign-report-reader"}},
}

// shippedComponents is what the base's components list holds as shipped: the dry run
// alone, which reads and never writes, so that applying the samples unread is harmless.
var shippedComponents = []string{"dry-run"}

// doc is one object a kustomization made, decoded into the type of its kind.
type doc struct {
	setup string
	kind  string
	name  string
	obj   any
}

func (d doc) String() string { return fmt.Sprintf("%s: %s/%s", d.setup, d.kind, d.name) }

// decoders map apiVersion/kind to a fresh value of the real type. Any other kind fails.
var decoders = map[string]func() any{
	"batch/v1/Job":             func() any { return &batchv1.Job{} },
	"batch/v1/CronJob":         func() any { return &batchv1.CronJob{} },
	"v1/ConfigMap":             func() any { return &corev1.ConfigMap{} },
	"v1/PersistentVolumeClaim": func() any { return &corev1.PersistentVolumeClaim{} },
	"v1/Pod":                   func() any { return &corev1.Pod{} },
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

// samplesFS copies this folder's kustomization files (not the Go ones) into memory under
// root, each passed through edit (nil: as they are), plus extra files by name.
func samplesFS(t *testing.T, edit func(name string, data []byte) []byte, extra map[string][]byte) filesys.FileSystem {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasSuffix(p, ".go") || p == "go.mod" || p == "go.sum" || strings.HasSuffix(p, ".md") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if edit != nil {
			data = edit(filepath.ToSlash(p), data)
		}
		return mem.WriteFile(path.Join(root, filepath.ToSlash(p)), data)
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range extra {
		if err := mem.WriteFile(path.Join(root, name), data); err != nil {
			t.Fatal(err)
		}
	}
	return mem
}

var componentsList = regexp.MustCompile(`(?m)^components:\n(?:  - .*\n)+`)

// withComponents is an edit that sets the base's components list.
func withComponents(t *testing.T, components []string) func(string, []byte) []byte {
	return func(name string, data []byte) []byte {
		if name != "kustomization.yaml" || components == nil {
			return data
		}
		if !componentsList.Match(data) {
			t.Fatalf("kustomization.yaml: no components list (components:, then one \"  - name\" a line) for the test to set")
		}
		list := "components:\n"
		for _, c := range components {
			list += "  - " + c + "\n"
		}
		return componentsList.ReplaceAll(data, []byte(list))
	}
}

// render builds the kustomization at dir (relative to root) and decodes every object it
// makes, strictly.
func render(t *testing.T, fsys filesys.FileSystem, name, dir string) []doc {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(fsys, path.Join(root, dir))
	if err != nil {
		t.Fatalf("%s: kustomize build %s: %v", name, dir, err)
	}
	var docs []doc
	for _, r := range m.Resources() {
		data, err := r.AsYAML()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		kind, objName, obj, err := decode(data)
		if err != nil {
			t.Errorf("%s: %s/%s: %v", name, kind, objName, err)
			continue
		}
		docs = append(docs, doc{setup: name, kind: kind, name: objName, obj: obj})
	}
	return docs
}

// renderSetup renders s from the samples as they are, with its components list.
func renderSetup(t *testing.T, s setup) []doc {
	t.Helper()
	return render(t, samplesFS(t, withComponents(t, s.components), nil), s.name, s.dir)
}

var hashSuffix = regexp.MustCompile(`-[a-z0-9]{10}$`)

// kinds lists what docs hold as "Kind/name", sorted, a generated name's hash cut off.
func kinds(docs []doc) []string {
	var out []string
	for _, d := range docs {
		name := d.name
		if d.kind == "ConfigMap" {
			name = hashSuffix.ReplaceAllString(name, "")
		}
		out = append(out, d.kind+"/"+name)
	}
	slices.Sort(out)
	return out
}

// TestSetupsCoverEveryFolder: every folder with a kustomization is rendered by some
// setup (a component by a setup that lists it), and the base lists the components as
// shipped.
func TestSetupsCoverEveryFolder(t *testing.T) {
	t.Parallel()
	base, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := componentsList.Find(base)
	if m == nil {
		t.Fatal("kustomization.yaml: no components list")
	}
	var shipped []string
	for _, line := range strings.Split(strings.TrimSpace(string(m)), "\n")[1:] {
		shipped = append(shipped, strings.TrimPrefix(line, "  - "))
	}
	if !slices.Equal(shipped, shippedComponents) {
		t.Errorf("kustomization.yaml lists components %q, want %q: applied unread, the samples must not write", shipped, shippedComponents)
	}
	covered := map[string]bool{}
	for _, s := range setups {
		covered[s.dir] = true
		for _, c := range s.components {
			covered[c] = true
		}
	}
	files, err := filepath.Glob("*/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no kustomization in any folder here")
	}
	for _, f := range files {
		if dir := filepath.Dir(f); !covered[dir] {
			t.Errorf("%s: no setup renders it (add it to setups)", dir)
		}
	}
}

// TestRender renders every setup and checks it makes exactly the objects it should.
func TestRender(t *testing.T) {
	t.Parallel()
	for _, s := range setups {
		if got := kinds(renderSetup(t, s)); !slices.Equal(got, s.want) {
			t.Errorf("%s renders %q, want %q", s.name, got, s.want)
		}
	}
	// And the base as it is on disk, with the components it ships with.
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), ".")
	if err != nil {
		t.Fatalf("kustomize build . (on disk): %v", err)
	}
	var out bytes.Buffer
	for _, r := range m.Resources() {
		fmt.Fprintf(&out, "%s/%s ", r.GetKind(), r.GetName())
	}
	if !strings.Contains(out.String(), "Job/reassign-dry-run") || strings.Contains(out.String(), "Job/reassign-run ") {
		t.Errorf("the base on disk renders %s; want the dry run and no run", out.String())
	}
}
