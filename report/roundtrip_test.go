package report

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"reassign/job"
	"reassign/job/cell"
	"reassign/job/dialnexa"
	"reassign/job/planfile"
)

// readPlan reads what a writer wrote as a plan, with the real reader.
func readPlan(t *testing.T, data []byte, nullToken string) []job.Row {
	t.Helper()
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	p, _, err := planfile.Read(context.Background(), open, planfile.Options{NullToken: nullToken})
	if err != nil {
		t.Fatalf("read back: %v\n%q", err, data)
	}
	var rows []job.Row
	p.Each(func(r job.Row, _ []job.Problem) error { rows = append(rows, r); return nil })
	return rows
}

// noControl fails on a raw control character anywhere but between records.
func noControl(t *testing.T, what string, data []byte) {
	t.Helper()
	for _, line := range bytes.Split(data, []byte("\n")) {
		if bytes.IndexFunc(line, func(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f }) >= 0 {
			t.Fatalf("%s holds a raw control character: %q", what, data)
		}
	}
}

// FuzzRoundTrip holds every writer to the reader: any values the API could hold (valid
// UTF-8), exported, restored by an undo plan or planned and reported, read back as a plan
// (or by --resume) are exactly those values, and no cell carries a raw control
// character.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range [][4]string{
		{"null", "agt_1", "null", "NULL"},
		{"null", "null", "  padded  ", " x"},
		{"<clear>", "agt_1", "<CLEAR>", "null"},
		{"null", "-agt", "'=1+1", "''+44"},
		{"null", "", "two\nlines", "tab\there"},
		{"null", "agt_1", "\x1b[31mred\x1b[0m", "\r\n"},
		{"null", "agt_1", `back\slash \n`, "'Tis"},
		{"-", "agt_1", "-", "@x"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, token, agent, nickname, label string) {
		token = strings.TrimSpace(token)
		if cell.CheckNullToken(token) != nil {
			t.Skip()
		}
		for _, v := range []string{agent, nickname, label} {
			if !utf8.ValidString(v) || len(v) > 4096 {
				t.Skip() // JSON strings are UTF-8; a plan cell holds at most 64 KiB
			}
		}

		// The export, read back as a plan: every value as the workspace holds it, the
		// agent's name (here the label's text) beside its id.
		var out bytes.Buffer
		ew, _ := NewExportWriter(&out, token, map[string]string{agent: label})
		ew.Write(dialnexa.PhoneNumber{ID: "phn_1", PhoneNumber: "+15550000001", AgentID: agent, Nickname: nickname, Label: label, Status: "active"})
		ew.Close()
		noControl(t, "export", out.Bytes())
		rows := readPlan(t, out.Bytes(), token)
		want := job.Row{Line: 2, ID: "phn_1", PhoneNumber: "+15550000001", AgentID: job.Field{Raw: agent},
			Nickname: job.Field{Raw: nickname}, Label: job.Field{Raw: label}}
		if agent != "" {
			want.Agent = job.Field{Raw: label} // a number without an agent has no name either
		}
		if len(rows) != 1 || rows[0] != want {
			t.Fatalf("export read back as %+v, want %+v\n%q", rows, want, out.Bytes())
		}

		// The undo plan of a row that changed all three: the old values, null for an
		// emptied agent or nickname, reviewed against the values the row wrote.
		out.Reset()
		uw, _ := NewUndoWriter(&out, token)
		changed := job.Row{ID: "phn_1", AgentID: job.Field{Raw: "agt_new"}, Nickname: job.Field{Raw: "New"}, Label: job.Field{Raw: "New"}}
		uw.Write(changed, job.NumberState{AgentID: agent, Nickname: nickname, Label: label})
		uw.Flush()
		noControl(t, "undo plan", out.Bytes())
		rows = readPlan(t, out.Bytes(), token)
		restore := func(old string) job.Field {
			if old == "" {
				return job.Field{Raw: token, Null: true}
			}
			return job.Field{Raw: old}
		}
		want = job.Row{Line: 2, ID: "phn_1", AgentID: restore(agent), Nickname: restore(nickname), Label: job.Field{Raw: label}}
		wrote := job.NumberState{AgentID: "agt_new", Nickname: "New", Label: "New"}
		if len(rows) != 1 || rows[0].Reviewed == nil || *rows[0].Reviewed != wrote {
			t.Fatalf("undo plan read back as %+v, want it reviewed against %+v\n%q", rows, wrote, out.Bytes())
		}
		if rows[0].Reviewed = nil; rows[0] != want {
			t.Fatalf("undo plan read back as %+v, want %+v\n%q", rows, want, out.Bytes())
		}

		// The report of a row planned with these values (and the API's error text):
		// --resume and the plan reader both read the planned cells back.
		for _, planned := range []job.Row{
			{Line: 2, ID: "phn_1", AgentID: job.Field{Raw: agent}, AgentName: label, Nickname: job.Field{Raw: nickname}, Label: job.Field{Raw: label}},
			{Line: 2, ID: "phn_1", AgentID: job.Field{Raw: strings.ToUpper(token), Null: true}, Nickname: job.Field{Raw: token, Null: true}},
		} {
			out.Reset()
			w, _ := NewWriter(&out, true, token)
			before := &job.NumberState{AgentID: agent, Nickname: label, Label: nickname}
			w.Write(job.Result{Row: planned, Outcome: job.Updated, Error: nickname, Number: dialnexa.PhoneNumber{Nickname: label}, Before: before})
			w.Flush()
			noControl(t, "report", out.Bytes())
			a, err := ReadApplied(bytes.NewReader(out.Bytes()), token)
			if err != nil {
				t.Fatalf("resume: %v", err)
			}
			if !a.Has(planned) {
				t.Fatalf("resume does not match the row it recorded: %+v\n%q", planned, out.Bytes())
			}
			other := planned
			other.Nickname = job.Field{Raw: planned.Nickname.Raw + "x"}
			if a.Has(other) {
				t.Fatalf("resume matches a row planned differently: %+v", other)
			}
			// Fed back as a plan (reviewed: it has the before_* columns), it is the
			// rows planned, reviewed against the values before.
			rows = readPlan(t, out.Bytes(), token)
			if len(rows) != 1 || rows[0].Reviewed == nil || *rows[0].Reviewed != *before {
				t.Fatalf("report read back as a plan: %+v, want reviewed against %+v\n%q", rows, before, out.Bytes())
			}
			// Its agent column holds the agent's name, read back as the plan's agent.
			if rows[0].Agent != (job.Field{Raw: planned.AgentName}) {
				t.Fatalf("report's agent column read back as %+v, want %q\n%q", rows[0].Agent, planned.AgentName, out.Bytes())
			}
			rows[0].Reviewed, rows[0].Agent, rows[0].AgentName = nil, job.Field{}, planned.AgentName
			if rows[0] != planned {
				t.Fatalf("report read back as a plan: %+v, want %+v\n%q", rows, planned, out.Bytes())
			}
		}
	})
}
