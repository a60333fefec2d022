package dialnexa

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestListAgentsInbound: an agent's "inbound" is read when it is a boolean; any other
// value, or none, says nothing. Names that are not strings are no names.
func TestListAgentsInbound(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"agents":[
			{"id":"agt_in","name":"Support","inbound":true},
			{"id":"agt_out","name":"Dialer","inbound":false},
			{"id":"agt_quiet","name":"Quiet"},
			{"id":"agt_null","inbound":null,"name":7},
			{"id":"agt_odd","name":"Odd","inbound":"yes"}]}`))
	}))
	defer srv.Close()
	agents, err := newTestClient(t, srv.URL+"/v1").ListAgents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		id, name, inbound string
	}
	want := []seen{{"agt_in", "Support", "true"}, {"agt_out", "Dialer", "false"}, {"agt_quiet", "Quiet", "unsaid"}, {"agt_null", "", "unsaid"}, {"agt_odd", "Odd", "unsaid"}}
	if len(agents) != len(want) {
		t.Fatalf("%d agents, want %d: %+v", len(agents), len(want), agents)
	}
	for i, a := range agents {
		got := seen{a.ID, a.Name, "unsaid"}
		if a.Inbound != nil && *a.Inbound {
			got.inbound = "true"
		} else if a.Inbound != nil {
			got.inbound = "false"
		}
		if got != want[i] {
			t.Errorf("agent %d: %+v, want %+v", i, got, want[i])
		}
	}
}
