// Package job applies a plan of phone-number changes through the API: rows and their
// outcomes, the Runner that sends them through job/pace (one Gate, one Retrier), the
// workspace reads before the first write (agents, Snapshot) and the Resolver that turns
// the phone numbers and agent names of a plan's rows into ids through them, what a
// reviewed row may overwrite (Moved), what a run is about to do (Preview), Verify, and
// shards.
//
// It reads no files and writes none: rows come from a function, results go to one.
package job

import (
	"encoding/json"
	"fmt"
)

// Field is one optional plan cell (agent_id, nickname, label). An empty Raw means "not
// sent"; Null means "send JSON null", Raw then holding the null token as written.
type Field struct {
	Raw  string
	Null bool
}

// Set reports whether the field is sent at all.
func (f Field) Set() bool { return f.Raw != "" }

// IsZero reports a field that is not sent: with `json:",omitzero"` a body holds only the
// fields a row sets.
func (f Field) IsZero() bool { return !f.Set() }

// MarshalJSON is null, or the value as a JSON string.
func (f Field) MarshalJSON() ([]byte, error) {
	if f.Null {
		return []byte("null"), nil
	}
	return json.Marshal(f.Raw)
}

// Row is one plan row after reading: the cells the job uses and where they came from.
type Row struct {
	Line int // plan line (or sheet row) where the row starts
	ID   string
	// PhoneNumber is the number of a row keyed by phone number (+ and digits); its ID
	// is the number's id once the plan is resolved against the workspace.
	PhoneNumber string
	AgentID     Field
	Nickname    Field
	Label       Field
	// Agent is the cell of an agent column: an agent's id or its display name, as
	// written. A Resolver puts the id it stands for in AgentID (beside an agent_id
	// column, it checks that both name the same agent).
	Agent Field
	// AgentName is the planned agent's display name, when it is known: the workspace's
	// name for AgentID once resolved, else the agent cell as written (an offline dry
	// run, a row that did not resolve). Reports show it; nothing sends it.
	AgentName string
	// PhoneBare says PhoneNumber was written as bare digits (no + or 00): its country
	// code was read from those digits, as a spreadsheet leaves them when it drops the +.
	PhoneBare bool
	// Reviewed, if set, is the number's state the row was reviewed against (a plan's
	// before_agent_id, before_nickname, before_label; "" means empty): the row may be
	// written only where the number still holds it, in each field the row changes.
	Reviewed *NumberState
}

// HasChanges reports whether the row asks for any field to be sent: an agent named in
// an agent column counts before it is resolved to its id.
func (r Row) HasChanges() bool {
	return r.AgentID.Set() || r.Agent.Set() || r.Nickname.Set() || r.Label.Set()
}

// Body is the JSON a row sends: only its set fields, null where the plan says so.
func Body(row Row) []byte {
	var b []byte
	var err error
	if row.AgentID.Null || row.Nickname.Null || row.Label.Null {
		b, err = json.Marshal(struct {
			AgentID  Field `json:"agent_id,omitzero"`
			Nickname Field `json:"nickname,omitzero"`
			Label    Field `json:"label,omitzero"`
		}{row.AgentID, row.Nickname, row.Label})
	} else {
		// Without a null the fields are plain strings, which encoding/json writes in a
		// third of the allocations Field's MarshalJSON costs: the same bytes.
		b, err = json.Marshal(struct {
			AgentID  string `json:"agent_id,omitempty"`
			Nickname string `json:"nickname,omitempty"`
			Label    string `json:"label,omitempty"`
		}{row.AgentID.Raw, row.Nickname.Raw, row.Label.Raw})
	}
	if err != nil {
		panic(err) // strings and nulls always marshal
	}
	return b
}

// Problem is one reason a plan or a row is refused, tied to a plan line (0 when the
// plan as a whole is at fault).
type Problem struct {
	Line   int
	Reason string
	// Missing says the row names an agent or a number the workspace does not have: when
	// most rows do, the key may be for another workspace.
	Missing bool
}

func (p Problem) String() string {
	if p.Line == 0 {
		return p.Reason
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Reason)
}
