package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"reassign/job"
	"reassign/job/cell"
)

// Line is one line of a report as read back: its cells unescaped as the plan reader
// reads them (cell.Unescape), the planned cells as fields (cell.ParseField).
// A column the report lacks reads as empty.
type Line struct {
	Line                          int // the plan line (or sheet row) where the row starts
	ID                            string
	AgentID, Nickname, Label      job.Field // as planned
	Outcome                       job.Outcome
	HTTPStatus, Attempts          int
	Error                         string
	ResultAgentID, ResultNickname string
	PhoneNumber, RequestID        string
	Duration                      time.Duration
	Finished                      time.Time // zero when the cell is empty or not a time
	BeforeAgentID, BeforeNickname string
	BeforeLabel                   string
	// Agent is the planned agent's name, where the report has an agent column.
	Agent string
}

// ReadLines reads a report written by Writer (or by an earlier version, with fewer
// columns), calling each for every line in the order written; an error from each ends
// the read with that error. It tolerates a BOM and a last line cut off by a kill; any
// other damage is an error naming the report's line. A file without the line, id and
// outcome columns is not a report.
func ReadLines(r io.Reader, nullToken string, each func(Line) error) error {
	br := bufio.NewReader(r)
	if head, _ := br.Peek(len(BOM)); bytes.Equal(head, []byte(BOM)) {
		br.Discard(len(BOM))
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return errors.New("the report is empty")
	}
	if err != nil {
		return err
	}
	col := map[string]int{}
	for i, name := range header {
		col[strings.ToLower(strings.TrimSpace(name))] = i
	}
	for _, name := range []string{"line", "id", "outcome"} {
		if _, ok := col[name]; !ok {
			return fmt.Errorf("not a reassign report: no %s column", name)
		}
	}
	rec, err := cr.Read()
	at := startLine(cr, err)
	for !errors.Is(err, io.EOF) {
		next, nextErr := cr.Read() // one line ahead: a damaged line is forgiven only last
		nextAt := startLine(cr, nextErr)
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe) && errors.Is(nextErr, io.EOF):
			return nil // a torn last line is what a kill leaves
		case errors.As(err, &pe):
			return fmt.Errorf("line %d: %v", pe.StartLine, pe.Err)
		case err != nil:
			return err
		case len(rec) < len(header) && errors.Is(nextErr, io.EOF):
			return nil // torn where a cell ended: the rest of the line is missing
		case len(rec) < len(header):
			return fmt.Errorf("line %d: %d cells, the header has %d", at, len(rec), len(header))
		}
		l, lerr := parseLine(rec, col, nullToken)
		if lerr != nil {
			return fmt.Errorf("line %d: %v", at, lerr)
		}
		if err := each(l); err != nil {
			return err
		}
		rec, err, at = next, nextErr, nextAt
	}
	return nil
}

// startLine is the file line where the record just read starts; 0 after an error.
func startLine(cr *csv.Reader, err error) int {
	if err != nil {
		return 0
	}
	line, _ := cr.FieldPos(0)
	return line
}

// parseLine reads one record by the report's header.
func parseLine(rec []string, col map[string]int, nullToken string) (Line, error) {
	value := func(name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			v, _ := cell.Unescape(rec[i], nullToken)
			return v
		}
		return ""
	}
	field := func(name string) job.Field {
		if i, ok := col[name]; ok && i < len(rec) {
			return cell.ParseField(rec[i], nullToken)
		}
		return job.Field{}
	}
	number := func(name string) int {
		n, _ := strconv.Atoi(value(name))
		return n
	}
	line, err := strconv.Atoi(value("line"))
	if err != nil || line < 0 {
		return Line{}, fmt.Errorf("the line cell %q is not a plan line", value("line"))
	}
	l := Line{
		Line: line, ID: value("id"), AgentID: field("agent_id"), Nickname: field("nickname"), Label: field("label"),
		Outcome: job.Outcome(value("outcome")), HTTPStatus: number("http_status"), Attempts: number("attempts"),
		Error: value("error"), ResultAgentID: value("result_agent_id"), ResultNickname: value("result_nickname"),
		PhoneNumber: value("phone_number"), RequestID: value("request_id"),
		Duration:      time.Duration(number("duration_ms")) * time.Millisecond,
		BeforeAgentID: value("before_agent_id"), BeforeNickname: value("before_nickname"), BeforeLabel: value("before_label"),
		Agent: value("agent"),
	}
	l.Finished, _ = time.Parse(time.RFC3339Nano, value("finished_at"))
	return l, nil
}
