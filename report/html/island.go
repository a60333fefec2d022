package html

import (
	"bufio"
	"encoding/json"

	"reassign/job"
	"reassign/report"
)

// The data island: one JSON object in a <script type="application/json"> element, which
// the page's script reads and shows. encoding/json escapes <, > and & in every string,
// so no value can close the element or open a comment.
//
//	{"t0": ms, "before": bool, "attention": [outcome...], "classes": {outcome: class},
//	 "agents": {id: name}, "rows": [[...], ...], "strings": [...]}
//
// Each row is one report line, in the order written (the script puts them in plan order
// and lets a later line of a plan row win). Its cells, by index:
//
//	0 line, 1 id, 2 phone_number, 3 outcome, 4 http_status, 5 attempts, 6 error,
//	7 request_id, 8 finished_at (ms after t0, or null), 9 agent_id, 10 nickname, 11 label
//	(as planned: "" not sent, null cleared), 12 result_agent_id, 13 result_nickname,
//	14 before_agent_id, 15 before_nickname, 16 before_label, 17 duration_ms
//
// A cell that repeats across rows (outcome, error, agent ids, labels) is a number: its
// index in strings.
const islandOpen = `<script type="application/json" id="data">`

// maxStrings bounds the table of repeated strings; past it, values are written in full.
const maxStrings = 1 << 16

type island struct {
	strings []string
	index   map[string]int
}

// ref is s, or its index in the table.
func (is *island) ref(s string) any {
	if s == "" {
		return s
	}
	if i, ok := is.index[s]; ok {
		return i
	}
	if len(is.strings) >= maxStrings {
		return s
	}
	is.index[s] = len(is.strings)
	is.strings = append(is.strings, s)
	return len(is.strings) - 1
}

// planned is a planned cell: null, "" (not sent) or the value.
func (is *island) planned(f job.Field, shared bool) any {
	switch {
	case f.Null:
		return nil
	case shared:
		return is.ref(f.Raw)
	}
	return f.Raw
}

func writeIsland(w *bufio.Writer, t *tally, src Source) error {
	var t0 int64
	if !t.first.IsZero() {
		t0 = t.first.UnixMilli()
	}
	classes := map[string]string{}
	for _, o := range t.outcomes {
		classes[string(o)] = outcomeClass(o)
	}
	head, err := json.Marshal(struct {
		T0        int64             `json:"t0"`
		Before    bool              `json:"before"`
		Attention []job.Outcome     `json:"attention"`
		Classes   map[string]string `json:"classes"`
		Agents    map[string]string `json:"agents"`
	}{t0, t.before, needsAttention, classes, t.agents})
	if err != nil {
		return err
	}
	w.WriteString(islandOpen)
	w.Write(head[:len(head)-1]) // the object stays open for the rows
	w.WriteString(`,"rows":[`)
	is := &island{index: map[string]int{}, strings: []string{}}
	enc := json.NewEncoder(w)
	first := true
	row := make([]any, 18)
	err = src(func(l report.Line) error {
		if !first {
			w.WriteByte(',')
		}
		first = false
		var finished any
		if !l.Finished.IsZero() {
			finished = l.Finished.UnixMilli() - t0
		}
		row[0], row[1], row[2], row[3] = l.Line, l.ID, l.PhoneNumber, is.ref(string(l.Outcome))
		row[4], row[5], row[6], row[7], row[8] = l.HTTPStatus, l.Attempts, is.ref(l.Error), l.RequestID, finished
		row[9], row[10], row[11] = is.planned(l.AgentID, true), is.planned(l.Nickname, false), is.planned(l.Label, true)
		row[12], row[13] = is.ref(l.ResultAgentID), l.ResultNickname
		row[14], row[15], row[16] = is.ref(l.BeforeAgentID), l.BeforeNickname, is.ref(l.BeforeLabel)
		row[17] = l.Duration.Milliseconds()
		return enc.Encode(row) // one row a line
	})
	if err != nil {
		return err
	}
	w.WriteString(`],"strings":`)
	if err := enc.Encode(is.strings); err != nil {
		return err
	}
	_, err = w.WriteString("}</script>\n")
	return err
}
