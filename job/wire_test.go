package job

import (
	"encoding/json"
	"slices"
	"testing"
)

// The scanner must read exactly what json.Unmarshal reads into the same structs: these
// are those structs, the reference.

func refNumber(data []byte) (wireNumber, error) {
	var w wireNumber
	err := json.Unmarshal(data, &w)
	return w, err
}

func refPage(data []byte) (numberPage, error) {
	var raw struct {
		Data  []wireNumber `json:"data"`
		Items []wireNumber `json:"items"`
		Total int          `json:"total"`
		Meta  struct {
			Total      int `json:"total"`
			TotalPages int `json:"totalPages"`
		} `json:"meta"`
	}
	err := json.Unmarshal(data, &raw)
	return numberPage{data: raw.Data, items: raw.Items, total: raw.Total, metaTotal: raw.Meta.Total, metaTP: raw.Meta.TotalPages}, err
}

var numberCases = []string{
	`{"id":"phn_1","phone_number":"+912234567890","label":"Main","agent_id":"agt_abc123","status":"active","nickname":"Sales Line"}`,
	`{"id":"phn_1","nickname":"Mumbai Support","inbound_agent_id":"agent_2g7Xy3tY53gRlp"}`,
	`{"id":"phn_1","agent_id":null,"nickname":null}`,
	` { "id" : "phn_1" , "agent_id" : "a" } `,
	`{}`,
	`null`,
	`{"ID":"upper","Agent_Id":"folded","nicKname":"x"}`,
	`{"agent_id":"first","agent_id":"second"}`,
	`{"agent_id":"kept","agent_id":null}`,
	`{"nickname":"D\u00e9sk \"one\"\\/\n","label":"tab\there"}`,
	`{"nickname":"Désk ☎ 東京"}`,
	"{\"nickname\":\"bad \xff utf8\"}",
	`{"nickname":"\ud83d\ude00 pair, \ud83d lone"}`,
	`{"ni\u0063kname":"escaped key"}`,
	"{\"\u017ftatus\":\"long s\",\"nic\u212aname\":\"Kelvin sign\",\"TYPE\":\"upper\"}",
	`{"agent_idagent_idagent_idagent_idagent_id":"a name longer than any field's"}`,
	`{"agent_id":{"id":"nested"},"id":"p"}`,
	`{"agent_id":42}`,
	`{"agent_id":true}`,
	`{"agent_id":["a"]}`,
	`{"extra":{"a":[1,2,{"b":"}"}],"c":"]"},"id":"after","more":[true,false,null,-1.5e3]}`,
	`["not","an","object"]`,
	`"a string"`,
	`42`,
	`{"id":"phn_1","agent_id":"agt_`,
	``,
	`{"id":"a"} trailing`,
}

func TestDecodeNumberMatchesEncodingJSON(t *testing.T) {
	for _, in := range numberCases {
		checkNumber(t, []byte(in))
	}
}

var pageCases = []string{
	`{"data":[{"id":"p1","agent_id":"a"},{"id":"p2","inbound_agent_id":"b","nickname":null}],"meta":{"page":1,"limit":100,"total":2,"totalPages":1}}`,
	`{"items":[{"id":"p1"}],"total":7}`,
	`{"data":[],"meta":{"total":0}}`,
	`{"data":null,"items":[{"id":"p1"}],"total":1}`,
	`{"data":[{"id":"p1"}],"data":null}`,
	`{"data":[null,{"id":"p2"}]}`,
	`{"Data":[{"ID":"p1"}],"META":{"TOTALPAGES":3,"Total":250}}`,
	"{\"\u017fata\":[],\"meta\":{\"total\u017fages\":1,\"totalPageſ\":2}}",
	`{"meta":null,"total":null}`,
	`{"meta":{"total":1.5}}`,
	`{"meta":{"total":"12"}}`,
	`{"meta":{"totalPages":99999999999999999999}}`,
	`{"meta":{"total":-3}}`,
	`{"data":{"id":"p1"}}`,
	`{"data":[1,2]}`,
	`{"meta":[]}`,
	`{"data":[{"id":"p1","agent_id":7}]}`,
	`null`,
	`[]`,
	`{"data":[{"id":"p1"}`,
}

func TestDecodeNumberPageMatchesEncodingJSON(t *testing.T) {
	for _, in := range pageCases {
		checkPage(t, []byte(in))
	}
}

func checkNumber(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := refNumber(data)
	got, err := decodeNumber(data)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q: error %v, encoding/json says %v", data, err, wantErr)
	}
	if err == nil && got != want {
		t.Fatalf("%q:\n got %+v\nwant %+v", data, got, want)
	}
}

func checkPage(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := refPage(data)
	got, err := decodeNumberPage(data)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q: error %v, encoding/json says %v", data, err, wantErr)
	}
	if err != nil {
		return
	}
	if (got.data == nil) != (want.data == nil) || (got.items == nil) != (want.items == nil) ||
		!slices.Equal(got.data, want.data) || !slices.Equal(got.items, want.items) ||
		got.total != want.total || got.metaTotal != want.metaTotal || got.metaTP != want.metaTP {
		t.Fatalf("%q:\n got %+v\nwant %+v", data, got, want)
	}
}

// FuzzDecodeNumber holds the scanner to encoding/json on arbitrary answers.
func FuzzDecodeNumber(f *testing.F) {
	for _, in := range numberCases {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkNumber(t, data) })
}

// FuzzDecodeNumberPage holds the scanner to encoding/json on arbitrary list pages.
func FuzzDecodeNumberPage(f *testing.F) {
	for _, in := range pageCases {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkPage(t, data) })
}

// BenchmarkDecodeNumberPage is one list page of 100 numbers; the reference is
// BenchmarkDecodeNumberPageEncodingJSON.
func BenchmarkDecodeNumberPage(b *testing.B) {
	data := benchPage()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeNumberPage(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeNumberPageEncodingJSON(b *testing.B) {
	data := benchPage()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := refPage(data); err != nil {
			b.Fatal(err)
		}
	}
}

func benchPage() []byte {
	b := []byte(`{"data":[`)
	for i := range PageSize {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":"phn_0000`...)
		b = append(b, byte('0'+i/10), byte('0'+i%10))
		b = append(b, `","phone_number":"+15551000000","agent_id":"agt_old","nickname":"Désk 12","label":null,"status":"active","country_code":"US","type":"local","created_at":"2026-01-02T03:04:05Z"}`...)
	}
	return append(b, `],"meta":{"page":1,"limit":100,"total":20000,"totalPages":200}}`...)
}
