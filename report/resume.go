package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gocarina/gocsv"

	"reassign/job"
	"reassign/job/cell"
)

// Applied is what an earlier report says was already done: for each id whose last line
// is updated or skipped, the agent_id, nickname and label it was done with. A row's later
// line (a gate's differs, a rollback's rolled_back) wins over its earlier one.
type Applied struct {
	done map[string]uint64 // id -> hash of the planned fields
}

// NewApplied returns an empty record, to Merge reports into.
func NewApplied() *Applied { return &Applied{done: map[string]uint64{}} }

// Merge adds what other records; where both record an id, other wins.
func (a *Applied) Merge(other *Applied) {
	maps.Copy(a.done, other.done)
}

// Len is the number of ids the report records as done.
func (a *Applied) Len() int { return len(a.done) }

// Has reports whether row was applied by the earlier run with the same planned fields.
func (a *Applied) Has(row job.Row) bool {
	h, ok := a.done[row.ID]
	return ok && h == fieldsHash(row.AgentID, row.Nickname, row.Label)
}

// fieldsHash hashes what a row sends: a null is a null, whatever the token's case.
func fieldsHash(fields ...job.Field) uint64 {
	h := fnv.New64a()
	for _, f := range fields {
		if f.Null {
			h.Write([]byte{1})
		} else {
			io.WriteString(h, f.Raw)
		}
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// ResumeError is an earlier report that cannot be read: damaged other than on its last
// line, or not a report.
type ResumeError struct {
	Path string
	Err  error
}

func (e *ResumeError) Error() string { return fmt.Sprintf("read resume report %s: %v", e.Path, e.Err) }
func (e *ResumeError) Unwrap() error { return e.Err }

// ResumeFiles is the reports --resume names: path itself, every *.csv report in a
// folder, or every report a glob pattern matches (as the pods of a retried Kubernetes
// Job leave them: a pattern that matches nothing yet resumes nothing), as they are when
// it is called. A bad pattern is filepath.ErrBadPattern; a path that is not there an
// *fs.PathError.
func ResumeFiles(path string) ([]string, error) {
	if strings.ContainsAny(path, "*?[") {
		files, err := filepath.Glob(path)
		if err != nil {
			return nil, fmt.Errorf("--resume %s: %w", path, err)
		}
		return files, nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		files, _ := filepath.Glob(filepath.Join(path, "*.csv"))
		return files, nil
	}
	return []string{path}, nil
}

// ReadResume reads the earlier reports files (ResumeFiles) and returns what they record
// as done. Their cells are read as the plan reader reads a plan's, with nullToken. A
// report that cannot be opened is an *fs.PathError; a damaged one a *ResumeError.
func ReadResume(files []string, nullToken string) (*Applied, error) {
	all := NewApplied()
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		applied, err := ReadApplied(f, nullToken)
		f.Close()
		if err != nil {
			return nil, &ResumeError{Path: name, Err: err}
		}
		all.Merge(applied)
	}
	return all, nil
}

// reportRecord is what --resume needs of a report line.
type reportRecord struct {
	ID       string `csv:"id"`
	AgentID  string `csv:"agent_id"`
	Nickname string `csv:"nickname"`
	Label    string `csv:"label"`
	Outcome  string `csv:"outcome"`
}

// ReadApplied reads an earlier report, its cells as the plan reader reads a plan's with
// nullToken (cell.ParseField). It tolerates a BOM and a last line cut off by a
// kill; any other damage is an error naming the line.
func ReadApplied(r io.Reader, nullToken string) (*Applied, error) {
	br := bufio.NewReader(r)
	if head, _ := br.Peek(3); bytes.Equal(head, []byte(BOM)) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	um, err := gocsv.NewUnmarshaller(cr, reportRecord{})
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the report is empty")
		}
		return nil, err
	}
	for _, col := range []string{"id", "agent_id", "nickname", "label", "outcome"} {
		if !slices.Contains(um.Headers, col) {
			return nil, fmt.Errorf("not a reassign report: no %s column", col)
		}
	}
	a := &Applied{done: map[string]uint64{}}
	for {
		v, err := um.Read()
		if errors.Is(err, io.EOF) {
			return a, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				// A torn last line is what a kill leaves: ignore it, but only at the end.
				if _, next := um.Read(); errors.Is(next, io.EOF) {
					return a, nil
				}
				return nil, fmt.Errorf("line %d: %v", pe.StartLine, pe.Err)
			}
			return nil, err
		}
		rec := v.(reportRecord)
		id, _ := cell.Unescape(rec.ID, nullToken)
		switch job.Outcome(rec.Outcome) {
		case job.Updated, job.Skipped:
			a.done[id] = fieldsHash(cell.ParseField(rec.AgentID, nullToken),
				cell.ParseField(rec.Nickname, nullToken), cell.ParseField(rec.Label, nullToken))
		default:
			delete(a.done, id) // a later line that undoes or disproves an earlier one
		}
	}
}
