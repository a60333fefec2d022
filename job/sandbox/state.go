package sandbox

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// The state file: one JSON object, its format named in its first field so that no other
// JSON file is taken for one. Agents and numbers are one a line, so that a person can
// read, grep and diff it, and edit it to set a scene:
//
//	{
//	  "format": "reassign sandbox state",
//	  "version": 1,
//	  "seeded_with": "demo",
//	  "agents": [
//	    {"id":"agt_billing","name":"Billing"},
//	    {"id":"agt_outbound_dialer","name":"Outbound Dialer","outbound_only":true}
//	  ],
//	  "numbers": [
//	    {"id":"phn_f7w2kx5mb9qz","phone_number":"+912234567890","agent_id":"agt_billing","nickname":"Old Mumbai Line","label":null,"status":"active","country_code":"IN","type":"local"}
//	  ]
//	}
const (
	stateFormat  = "reassign sandbox state"
	stateVersion = 1
)

// ErrSeedConflict is a --sandbox-numbers that a state file already seeded otherwise
// cannot take effect: the file keeps its workspace.
var ErrSeedConflict = errors.New("the sandbox state already holds a workspace")

type stateDoc struct {
	Format     string       `json:"format"`
	Version    int          `json:"version"`
	SeededWith string       `json:"seeded_with"`
	Agents     []stateAgent `json:"agents"`
	Numbers    []Number     `json:"numbers"`
}

type stateAgent struct {
	ID           string `json:"id"`
	Name         string `json:"name,omitempty"`
	OutboundOnly bool   `json:"outbound_only,omitempty"`
}

// stateFile is a workspace kept in a file between commands. sum is the hash of the file
// as this command found (or created) it: a save checks that nobody replaced it since.
type stateFile struct {
	path, seededWith string
	sum              [sha256.Size]byte
}

// seed is the workspace a sandbox starts from: Demo, or Generated(numbers) when
// numbers > 0.
func seed(numbers int) Workspace {
	if numbers > 0 {
		return Generated(numbers)
	}
	return Demo()
}

// seedName says how a new state is seeded, as the state file records it.
func seedName(numbers int) string {
	if numbers > 0 {
		return "--sandbox-numbers " + strconv.Itoa(numbers)
	}
	return "demo"
}

// openState reads the workspace kept at path; when there is no such file, it seeds one
// (Demo, or Generated(numbers)) and writes it. numbers > 0 with a file seeded otherwise
// is ErrSeedConflict. Errors name the file.
func openState(path string, numbers int) (st *stateFile, ws Workspace, created bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		st, ws = &stateFile{path: path, seededWith: seedName(numbers)}, seed(numbers)
		if err := st.write(ws); err != nil {
			return nil, Workspace{}, false, err
		}
		return st, ws, true, nil
	}
	if err != nil {
		return nil, Workspace{}, false, fmt.Errorf("sandbox state: %w", err)
	}
	doc, err := decodeState(data)
	if err != nil {
		return nil, Workspace{}, false, fmt.Errorf("sandbox state %s: %w (name another file with --sandbox-state to start a new workspace)", path, err)
	}
	if numbers > 0 && doc.SeededWith != seedName(numbers) {
		return nil, Workspace{}, false, fmt.Errorf("--sandbox-numbers %d: %w in %s (seeded with %s): leave the flag out to use it, or give --sandbox-state a new file", numbers, ErrSeedConflict, path, doc.SeededWith)
	}
	return &stateFile{path: path, seededWith: doc.SeededWith, sum: sha256.Sum256(data)}, doc.workspace(), false, nil
}

// decodeState reads a state file's bytes, refusing anything that is not a state this
// version writes: another JSON file, an unknown field (a typo in a hand edit), a
// number whose agent the state does not have, an id twice.
func decodeState(data []byte) (*stateDoc, error) {
	if !isState(data) {
		return nil, fmt.Errorf(`is not a sandbox state (a JSON object whose "format" is %q)`, stateFormat)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var doc stateDoc
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("is a sandbox state that cannot be read: %w", err)
	}
	if doc.Version != stateVersion {
		return nil, fmt.Errorf("is a sandbox state of version %d; this version of reassign reads version %d", doc.Version, stateVersion)
	}
	agents := map[string]bool{}
	for i, a := range doc.Agents {
		if a.ID == "" || agents[a.ID] {
			return nil, fmt.Errorf("agent %d: id %q is empty or appears twice", i+1, a.ID)
		}
		agents[a.ID] = true
	}
	ids, phones := map[string]bool{}, map[string]bool{}
	for i, n := range doc.Numbers {
		switch {
		case n.ID == "" || ids[n.ID]:
			return nil, fmt.Errorf("number %d: id %q is empty or appears twice", i+1, n.ID)
		case n.PhoneNumber == "" || phones[n.PhoneNumber]:
			return nil, fmt.Errorf("number %s: phone number %q is empty or appears twice", n.ID, n.PhoneNumber)
		case n.AgentID != nil && !agents[*n.AgentID]:
			return nil, fmt.Errorf("number %s: agent %s is not among the state's agents", n.ID, *n.AgentID)
		}
		ids[n.ID], phones[n.PhoneNumber] = true, true
	}
	return &doc, nil
}

// isState reports whether data is meant as a state: its first field says so (as this
// package writes it, so that a damaged state is still known for one), or its "format"
// anywhere does.
func isState(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	var first [3]json.Token
	for i := range first {
		first[i], _ = dec.Token()
	}
	if first[0] == json.Delim('{') && first[1] == "format" && first[2] == stateFormat {
		return true
	}
	var head struct{ Format string }
	return json.Unmarshal(data, &head) == nil && head.Format == stateFormat
}

// workspace is the Workspace a state describes.
func (d *stateDoc) workspace() Workspace {
	ws := Workspace{Numbers: d.Numbers, AgentNames: map[string]string{}}
	for _, a := range d.Agents {
		ws.Agents = append(ws.Agents, a.ID)
		if a.Name != "" {
			ws.AgentNames[a.ID] = a.Name
		}
		if a.OutboundOnly {
			ws.Ineligible = append(ws.Ineligible, a.ID)
		}
	}
	return ws
}

// save writes ws back to the file, unless the file is no longer the one this command
// read: another command changed it meanwhile, and overwriting would lose its changes.
func (st *stateFile) save(ws Workspace) error {
	data, err := os.ReadFile(st.path)
	if err != nil || sha256.Sum256(data) != st.sum {
		return fmt.Errorf("sandbox state %s changed while this command ran (another command using it?): this command's changes to the sandbox are not saved", st.path)
	}
	return st.write(ws)
}

// write replaces the file with ws and remembers what it wrote.
func (st *stateFile) write(ws Workspace) error {
	h := sha256.New()
	err := writeAtomic(st.path, func(w io.Writer) error {
		return encodeState(io.MultiWriter(w, h), st.seededWith, ws)
	})
	if err != nil {
		return fmt.Errorf("sandbox state: write %s: %w", st.path, err)
	}
	h.Sum(st.sum[:0])
	return nil
}

// encodeState writes ws as a state file, one agent or number a line.
func encodeState(w io.Writer, seededWith string, ws Workspace) error {
	bw := bufio.NewWriter(w)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // nicknames stay as typed: "<", ">" and "&" unescaped
	// value is v as JSON on one line, valid until the next call.
	value := func(v any) []byte {
		buf.Reset()
		enc.Encode(v) // values of these types always encode
		return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}
	fmt.Fprintf(bw, "{\n  \"format\": %s,\n  \"version\": %d,\n", value(stateFormat), stateVersion)
	fmt.Fprintf(bw, "  \"seeded_with\": %s,\n", value(seededWith))
	list := func(name string, n int, item func(i int) any) {
		fmt.Fprintf(bw, "  %q: [", name)
		for i := range n {
			if i > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString("\n    ")
			bw.Write(value(item(i)))
		}
		bw.WriteString("\n  ]")
	}
	outbound := map[string]bool{}
	for _, id := range ws.Ineligible {
		outbound[id] = true
	}
	list("agents", len(ws.Agents), func(i int) any {
		id := ws.Agents[i]
		return stateAgent{ID: id, Name: ws.AgentNames[id], OutboundOnly: outbound[id]}
	})
	bw.WriteString(",\n")
	list("numbers", len(ws.Numbers), func(i int) any { return ws.Numbers[i] })
	bw.WriteString("\n}\n")
	return bw.Flush()
}

// writeAtomic replaces path with what write produces: written to a new file beside it,
// synced, then renamed over it, so that a crash at any point leaves the old file or the
// new one, never part of one. A file it replaces keeps its permissions; a new one gets
// 0666 less the umask, as any file the program creates.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	var f *os.File
	for range 10 {
		tmp := filepath.Join(dir, fmt.Sprintf(".%s.%016x.tmp", base, rand.Uint64()))
		if f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666); !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if fi, statErr := os.Stat(path); statErr == nil {
		if err = f.Chmod(fi.Mode().Perm()); err != nil {
			return err
		}
	}
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	// The rename is atomic as it is; syncing the folder makes it outlast a power cut
	// (where a platform cannot sync a folder, it stays atomic).
	if d, err := os.Open(filepath.Clean(dir + ".")); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
