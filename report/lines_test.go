package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"reassign/job"
	"reassign/job/dialnexa"
)

// TestReadLinesRoundTrip reads back what Writer wrote: every cell as it was, marks and
// escapes undone, the null token a null.
func TestReadLinesRoundTrip(t *testing.T) {
	t.Parallel()
	finished := time.Date(2026, 11, 27, 3, 15, 0, 123e6, time.UTC)
	results := []job.Result{
		{Row: job.Row{Line: 7, ID: "phn_1", AgentID: job.Field{Raw: "agt_a"}, AgentName: "Sales, EMEA", Nickname: job.Field{Raw: "=cmd|' /C calc'!A0"}, Label: job.Field{Raw: "two\nlines"}},
			Outcome: job.Updated, Status: 200, Attempts: 2, Number: dialnexa.PhoneNumber{AgentID: "agt_a", Nickname: "x", PhoneNumber: "+4420794600"},
			RequestID: "req_1", Duration: 1500 * time.Millisecond, Finished: finished, Before: &job.NumberState{AgentID: "agt_b", Nickname: "null", Label: " L "}},
		{Row: job.Row{Line: 9, ID: "phn_2", AgentID: job.Field{Raw: "NULL", Null: true}, Nickname: job.Field{Raw: "null", Null: true}},
			Outcome: job.Rejected, Status: 400, Attempts: 1, Error: "-1 is not an agent"},
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, true, "null")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		w.Write(r)
	}
	w.Flush()
	var got []Line
	if err := ReadLines(&buf, "null", func(l Line) error { got = append(got, l); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []Line{
		{Line: 7, ID: "phn_1", AgentID: job.Field{Raw: "agt_a"}, Nickname: job.Field{Raw: "=cmd|' /C calc'!A0"}, Label: job.Field{Raw: "two\nlines"},
			Outcome: job.Updated, HTTPStatus: 200, Attempts: 2, ResultAgentID: "agt_a", ResultNickname: "x", PhoneNumber: "+4420794600",
			RequestID: "req_1", Duration: 1500 * time.Millisecond, Finished: finished, BeforeAgentID: "agt_b", BeforeNickname: "null", BeforeLabel: " L ",
			Agent: "Sales, EMEA"},
		{Line: 9, ID: "phn_2", AgentID: job.Field{Raw: "NULL", Null: true}, Nickname: job.Field{Raw: "null", Null: true},
			Outcome: job.Rejected, HTTPStatus: 400, Attempts: 1, Error: "-1 is not an agent"},
	}
	if len(got) != len(want) {
		t.Fatalf("read %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestReadLinesDamage(t *testing.T) {
	t.Parallel()
	header := "line,id,agent_id,nickname,label,outcome,agent\n"
	cases := []struct {
		name, data string
		lines      int
		err        string
	}{
		{name: "torn last line in a quote", data: header + "2,phn_1,agt_a,x,,updated,Sales\n3,phn_2,agt_a,\"half", lines: 1},
		{name: "torn last line between cells", data: header + "2,phn_1,agt_a,x,,updated,Sales\n3,phn_2,agt", lines: 1},
		{name: "short line inside", data: header + "2,phn_1,agt\n3,phn_2,agt_a,x,,updated,Sales\n", err: "line 2: 3 cells, the header has 7"},
		{name: "bad quote inside", data: header + "2,phn_1,\"a\"b,x,,updated,S\n3,phn_2,agt_a,x,,updated,S\n", err: "line 2:"},
		{name: "line not a number", data: header + "two,phn_1,agt_a,x,,updated,S\n3,phn_2,agt_a,x,,updated,S\n", err: `line 2: the line cell "two" is not a plan line`},
		{name: "not a report", data: "id,agent_id\nphn_1,agt_a\n", err: "not a reassign report: no line column"},
		{name: "empty", data: "", err: "the report is empty"},
		{name: "header only", data: "\uFEFF" + header, lines: 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			n := 0
			err := ReadLines(strings.NewReader(c.data), "null", func(l Line) error {
				n++
				if l.Agent != "Sales" {
					t.Errorf("agent %q, want Sales", l.Agent)
				}
				return nil
			})
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("error %v, want %q", err, c.err)
			case c.err == "" && n != c.lines:
				t.Errorf("%d lines, want %d", n, c.lines)
			}
		})
	}
}

func TestReadLinesStopsOnCallerError(t *testing.T) {
	t.Parallel()
	stop := errors.New("stop")
	data := "line,id,outcome\n2,a,updated\n3,b,updated\n"
	n := 0
	err := ReadLines(strings.NewReader(data), "null", func(Line) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("error %v after %d lines, want stop after 1", err, n)
	}
}

func TestTimeline(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 27, 3, 15, 0, 500e6, time.UTC)
	tl := NewTimeline(start)
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			tl.Row(start.Add(time.Duration(i) * 30 * time.Millisecond)) // 0 .. 2.97 s
			if i%10 == 0 {
				tl.Throttled(start.Add(2500 * time.Millisecond))
			}
		})
	}
	wg.Wait()
	tl.Row(start.Add(-time.Second)) // before the start: the first second
	rows, throttled := tl.Seconds()
	if want := []int{35, 33, 33}; !slices.Equal(rows, want) {
		t.Errorf("rows %v, want %v", rows, want)
	}
	if want := []int{0, 0, 10}; !slices.Equal(throttled, want) {
		t.Errorf("throttled %v, want %v", throttled, want)
	}

	data, err := json.Marshal(tl)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"start":"2026-11-27T03:15:00.500Z","rows":[35,33,33],"throttled":[0,0,10]}`; string(data) != want {
		t.Errorf("JSON %s, want %s", data, want)
	}
	back := &Timeline{}
	if err := json.Unmarshal(data, back); err != nil {
		t.Fatal(err)
	}
	if r, th := back.Seconds(); !back.Start().Equal(start) || !slices.Equal(r, rows) || !slices.Equal(th, throttled) {
		t.Errorf("read back %v %v %v", back.Start(), r, th)
	}
	for _, bad := range []string{`{"start":"soon","rows":[],"throttled":[]}`, `{"start":"2026-11-27T03:15:00Z","rows":[-1],"throttled":[]}`} {
		if err := json.Unmarshal([]byte(bad), &Timeline{}); err == nil {
			t.Errorf("%s read without an error", bad)
		}
	}

	// Two pods, the second started 2 s later: their seconds add up on one axis.
	other := NewTimeline(start.Add(2 * time.Second))
	other.Row(start.Add(2 * time.Second))
	other.Throttled(start.Add(4 * time.Second))
	merged := MergeTimelines(tl, other)
	rows, throttled = merged.Seconds()
	if !merged.Start().Equal(start) || !slices.Equal(rows, []int{35, 33, 34, 0, 0}) || !slices.Equal(throttled, []int{0, 0, 10, 0, 1}) {
		t.Errorf("merged from %v: rows %v, throttled %v", merged.Start(), rows, throttled)
	}
}
