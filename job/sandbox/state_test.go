package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// patch sends one PATCH to a served sandbox and fails the test unless it is applied.
func patch(t *testing.T, s *Served, id, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPatch, s.BaseURL+"/organization-phone-numbers/"+id, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("PATCH %s: %d %s", id, resp.StatusCode, msg)
	}
}

func start(t *testing.T, o DemoOptions) *Served {
	t.Helper()
	s, err := StartDemo(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func closeSaving(t *testing.T, s *Served, want bool) {
	t.Helper()
	saved, err := s.Close()
	if err != nil || saved != want {
		t.Fatalf("Close() = %v, %v; want saved %v", saved, err, want)
	}
}

// files lists the names in dir: a write that went wrong leaves none of its own.
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestStateKeepsTheWorkspace: a state file is created from the demo workspace on first
// use, a command that reads only leaves it as it is, and a change is there for the next
// command, with nicknames as typed.
func TestStateKeepsTheWorkspace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "rehearsal.json")

	s := start(t, DemoOptions{State: path})
	if !s.Created || s.Numbers != len(Demo().Numbers) {
		t.Fatalf("first use: Created %v, %d numbers; want a new state of the demo's %d", s.Created, s.Numbers, len(Demo().Numbers))
	}
	created, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the state is not written on first use: %v", err)
	}
	closeSaving(t, s, false)

	s = start(t, DemoOptions{State: path})
	if s.Created {
		t.Error("an existing state reported as created")
	}
	if !reflect.DeepEqual(s.api.Workspace(), Demo()) {
		t.Errorf("the state read back is not the demo workspace:\n%+v\n%+v", s.api.Workspace(), Demo())
	}
	closeSaving(t, s, false)
	if now, _ := os.ReadFile(path); !bytes.Equal(now, created) {
		t.Error("a command that changed nothing rewrote the state")
	}

	s = start(t, DemoOptions{State: path})
	patch(t, s, "phn_k3p8vd2nq7ra", `{"agent_id":"agt_sales_emea","nickname":"<b>Ops</b> & \"co\" 東京"}`)
	patch(t, s, "phn_f7w2kx5mb9qz", `{"agent_id":null,"nickname":null}`)
	closeSaving(t, s, true)
	data, _ := os.ReadFile(path)
	if !bytes.Contains(data, []byte(`"nickname":"<b>Ops</b> & \"co\" 東京"`)) {
		t.Errorf("the nickname is not kept as typed:\n%s", data)
	}
	if got := files(t, dir); !reflect.DeepEqual(got, []string{"rehearsal.json"}) {
		t.Errorf("the folder holds %v; the write beside must be gone", got)
	}

	s = start(t, DemoOptions{State: path})
	defer s.Close()
	n, _ := s.api.Number("phn_k3p8vd2nq7ra")
	if val(n.AgentID) != "agt_sales_emea" || val(n.Nickname) != `<b>Ops</b> & "co" 東京` || val(n.Label) != "Support - London" {
		t.Errorf("the change is not kept: %+v", n)
	}
	if n, _ := s.api.Number("phn_f7w2kx5mb9qz"); n.AgentID != nil || n.Nickname != nil {
		t.Errorf("emptied fields are not kept empty: %+v", n)
	}
	// The rules come with the state: the outbound-only agent is still refused.
	req, _ := http.NewRequest(http.MethodPatch, s.BaseURL+"/organization-phone-numbers/phn_k3p8vd2nq7ra", strings.NewReader(`{"agent_id":"agt_outbound_dialer"}`))
	req.Header.Set("Authorization", "Bearer "+s.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("outbound-only agent: %d, want 400", resp.StatusCode)
	}
}

func val(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// TestStateRefused: a file that is not a state this version writes is an error naming
// it, and is left exactly as it was.
func TestStateRefused(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	encodeState(&b, "demo", Demo())
	valid := b.String()
	swap := func(old, new string) string { return strings.Replace(valid, old, new, 1) }
	cases := []struct{ name, content, want string }{
		{"empty", "", "is not a sandbox state"},
		{"a plan", "id,agent_id\nphn_1,agt_a\n", "is not a sandbox state"},
		{"other JSON", `{"numbers":[]}`, "is not a sandbox state"},
		{"another format", `{"format":"something else","numbers":[]}`, "is not a sandbox state"},
		{"truncated", valid[:len(valid)/2], "is a sandbox state that cannot be read: unexpected EOF"},
		{"unknown field", swap(`"nickname":"SF Pilot"`, `"nick_name":"SF Pilot"`), `unknown field "nick_name"`},
		{"newer version", swap(`"version": 1`, `"version": 2`), "version 2"},
		{"id twice", swap("phn_k3p8vd2nq7ra", "phn_f7w2kx5mb9qz"), `id "phn_f7w2kx5mb9qz" is empty or appears twice`},
		{"unknown agent", swap(`"agent_id":"agt_billing"`, `"agent_id":"agt_gone"`), "agent agt_gone is not among the state's agents"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "state.json")
			os.WriteFile(path, []byte(tc.content), 0o644)
			_, err := StartDemo(DemoOptions{State: path})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v; want one naming %s and saying %q", err, path, tc.want)
			}
			if now, _ := os.ReadFile(path); string(now) != tc.content {
				t.Error("the file was changed")
			}
		})
	}
	t.Run("a folder", func(t *testing.T) {
		t.Parallel()
		path := t.TempDir()
		if _, err := StartDemo(DemoOptions{State: path}); err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("err = %v; want one naming %s", err, path)
		}
	})
	t.Run("a missing folder", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "nowhere", "state.json")
		if _, err := StartDemo(DemoOptions{State: path}); err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("err = %v; want one naming %s", err, path)
		}
	})
}

// TestStateSeed: --sandbox-numbers seeds a new state; with that state it may be said
// again, and any other count is refused rather than ignored.
func TestStateSeed(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.json")
	s := start(t, DemoOptions{State: path, Numbers: 250})
	if !s.Created || s.Numbers != 250 {
		t.Fatalf("Created %v, %d numbers; want a new state of 250", s.Created, s.Numbers)
	}
	s.Close()
	for _, n := range []int{250, 0} {
		s := start(t, DemoOptions{State: path, Numbers: n})
		if s.Numbers != 250 || s.Created {
			t.Errorf("Numbers %d: %d numbers, created %v; want the state's 250", n, s.Numbers, s.Created)
		}
		s.Close()
	}
	_, err := StartDemo(DemoOptions{State: path, Numbers: 300})
	if !errors.Is(err, ErrSeedConflict) || !strings.Contains(err.Error(), "--sandbox-numbers 250") {
		t.Errorf("err = %v; want ErrSeedConflict naming how the state was seeded", err)
	}
	demo := filepath.Join(t.TempDir(), "demo.json")
	start(t, DemoOptions{State: demo}).Close()
	if _, err := StartDemo(DemoOptions{State: demo, Numbers: 9}); !errors.Is(err, ErrSeedConflict) || !strings.Contains(err.Error(), "seeded with demo") {
		t.Errorf("err = %v; want ErrSeedConflict: the demo state was not seeded with 9 generated numbers", err)
	}
}

// TestStateChangedMeanwhile: two commands on one state file at once; the second to end
// does not overwrite the first one's changes, and says so.
func TestStateChangedMeanwhile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.json")
	first, second := start(t, DemoOptions{State: path}), start(t, DemoOptions{State: path})
	patch(t, first, "phn_k3p8vd2nq7ra", `{"nickname":"first"}`)
	patch(t, second, "phn_m9x4tb6wz2ce", `{"nickname":"second"}`)
	closeSaving(t, first, true)
	kept, _ := os.ReadFile(path)
	saved, err := second.Close()
	if saved || err == nil || !strings.Contains(err.Error(), "changed while this command ran") {
		t.Fatalf("Close() = %v, %v; want an error saying the state changed meanwhile", saved, err)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, kept) {
		t.Error("the second command overwrote the first one's state")
	}
}

// TestWriteAtomic: a write that fails halfway leaves the old file whole, with nothing
// beside it; a replaced file keeps its permissions.
func TestWriteAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	os.WriteFile(path, []byte("old state\n"), 0o600)
	err := writeAtomic(path, func(w io.Writer) error {
		io.WriteString(w, `{"format": "reassign sandbox state", "numb`)
		return errors.New("disk full")
	})
	if err == nil || err.Error() != "disk full" {
		t.Fatalf("err = %v, want the write's error", err)
	}
	if now, _ := os.ReadFile(path); string(now) != "old state\n" {
		t.Errorf("a failed write changed the file: %q", now)
	}
	if got := files(t, dir); !reflect.DeepEqual(got, []string{"state.json"}) {
		t.Errorf("a failed write left %v", got)
	}
	if err := writeAtomic(path, func(w io.Writer) error { _, err := io.WriteString(w, "new state\n"); return err }); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if now, _ := os.ReadFile(path); string(now) != "new state\n" || fi.Mode().Perm() != 0o600 {
		t.Errorf("after the write: %q, mode %v; want the new content, mode 0600 kept", now, fi.Mode().Perm())
	}
}

// TestGenerated: the numbers --sandbox-numbers seeds are what a workspace holds: ids in
// the API's style, phone numbers of several countries in E.164, each once, spread over
// the agents that take inbound numbers, some with nicknames and labels; the same count
// gives the same workspace, and it reads back from a state unchanged.
func TestGenerated(t *testing.T) {
	t.Parallel()
	const n = 2000
	ws := Generated(n)
	if len(ws.Numbers) != n {
		t.Fatalf("%d numbers, want %d", len(ws.Numbers), n)
	}
	idRe, phoneRe := regexp.MustCompile(`^phn_[a-z0-9]{12}$`), regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)
	ids, phones, countries, agents := map[string]bool{}, map[string]bool{}, map[string]int{}, map[string]int{}
	nicknames, labels := 0, 0
	for _, num := range ws.Numbers {
		if !idRe.MatchString(num.ID) || ids[num.ID] {
			t.Errorf("id %q is not in the API's style or repeats", num.ID)
		}
		if !phoneRe.MatchString(num.PhoneNumber) || phones[num.PhoneNumber] {
			t.Errorf("phone number %q is not E.164 or repeats", num.PhoneNumber)
		}
		ids[num.ID], phones[num.PhoneNumber] = true, true
		countries[num.CountryCode]++
		agents[val(num.AgentID)]++
		if num.Nickname != nil {
			nicknames++
		}
		if num.Label != nil {
			labels++
		}
	}
	if len(countries) < 5 {
		t.Errorf("numbers of %d countries, want several: %v", len(countries), countries)
	}
	if agents["agt_outbound_dialer"] != 0 {
		t.Errorf("%d numbers on the outbound-only agent", agents["agt_outbound_dialer"])
	}
	for _, id := range ws.Agents {
		if id != "agt_outbound_dialer" && agents[id] < n/20 {
			t.Errorf("agent %s has %d of %d numbers: not spread", id, agents[id], n)
		}
	}
	if agents[""] < n/20 || nicknames < n/5 || labels < n/10 || nicknames == n || labels == n {
		t.Errorf("%d without an agent, %d nicknames, %d labels of %d: want some of each", agents[""], nicknames, labels, n)
	}
	if !reflect.DeepEqual(Generated(n), ws) {
		t.Error("the same count gave another workspace")
	}
	var b bytes.Buffer
	if err := encodeState(&b, seedName(n), ws); err != nil {
		t.Fatal(err)
	}
	doc, err := decodeState(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.workspace(); !reflect.DeepEqual(got, ws) {
		t.Error("the generated workspace does not read back from its state unchanged")
	}
	var obj map[string]any
	if err := json.Unmarshal(b.Bytes(), &obj); err != nil || strings.Count(b.String(), "\n") != n+len(ws.Agents)+9 {
		t.Errorf("the state is not one JSON object with one number a line (%v, %d lines)", err, strings.Count(b.String(), "\n"))
	}
}

// TestWithoutState: without a state file the sandbox starts from its seed every time
// and Close writes nothing.
func TestWithoutState(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 40} {
		s := start(t, DemoOptions{Numbers: n})
		want := len(Demo().Numbers)
		if n > 0 {
			want = n
		}
		if s.Numbers != want || s.Created {
			t.Errorf("Numbers %d: %d numbers, created %v", n, s.Numbers, s.Created)
		}
		id := s.api.Workspace().Numbers[0].ID
		patch(t, s, id, fmt.Sprintf(`{"nickname":"seen %d"}`, n))
		closeSaving(t, s, false)
	}
}
