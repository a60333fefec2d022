package sandbox

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// MaxGenerated is the most numbers Generated makes: a rehearsal workspace, kept in
// memory and in a state file of about 170 bytes a number.
const MaxGenerated = 100_000

// region is where generated numbers come from: a country, a city or mobile range, and
// its prefix, which that many random digits follow.
type region struct {
	country, city, prefix, kind string
	digits                      int
}

// regions are real numbering plans: each prefix with its digits makes a number of the
// length that country dials.
var regions = []region{
	{"GB", "London", "+44207", "local", 7},
	{"GB", "Manchester", "+44161", "local", 7},
	{"GB", "UK Mobile", "+447700", "mobile", 6},
	{"US", "New York", "+1212", "local", 7},
	{"US", "San Francisco", "+1415", "local", 7},
	{"US", "Chicago", "+1312", "local", 7},
	{"IN", "Mumbai", "+9122", "local", 8},
	{"IN", "Bengaluru", "+9180", "local", 8},
	{"IN", "India Mobile", "+919", "mobile", 9},
	{"DE", "Berlin", "+4930", "local", 8},
	{"AU", "Sydney", "+612", "local", 8},
	{"BR", "São Paulo", "+55119", "mobile", 8},
}

// Generated returns a workspace of n numbers (at most MaxGenerated) spread over Demo's
// agents: phone numbers of a few countries in their real formats, ids in the API's
// style, most numbers with an inbound agent, some with a nickname or a label. The same
// n always gives the same workspace, so that a rehearsal can be repeated.
func Generated(n int) Workspace {
	n = min(max(n, 0), MaxGenerated)
	demo := Demo()
	ws := Workspace{Agents: demo.Agents, AgentNames: demo.AgentNames, Ineligible: demo.Ineligible, Numbers: make([]Number, 0, n)}
	inbound := slices.DeleteFunc(slices.Clone(demo.Agents), func(id string) bool { return slices.Contains(demo.Ineligible, id) })
	rng := rand.New(rand.NewPCG(0x5eed, uint64(n)))
	ids, phones := map[string]bool{}, map[string]bool{}
	for len(ws.Numbers) < n {
		r := regions[rng.IntN(len(regions))]
		digits := []byte(r.prefix)
		if r.country == "US" {
			digits = append(digits, byte('2'+rng.IntN(8))) // an exchange never starts with 0 or 1
		}
		for len(digits) < len(r.prefix)+r.digits {
			digits = append(digits, byte('0'+rng.IntN(10)))
		}
		phone, id := string(digits), "phn_"+randomID(rng, 12)
		if phones[phone] || ids[id] {
			continue
		}
		phones[phone], ids[id] = true, true
		num := Number{ID: id, PhoneNumber: phone, Status: "active", CountryCode: r.country, Type: r.kind}
		agent := ""
		if rng.IntN(100) < 85 {
			agent = inbound[rng.IntN(len(inbound))]
			num.AgentID = new(agent)
		}
		team := demo.AgentNames[agent]
		if team == "" {
			team = "Spare"
		}
		if rng.IntN(100) < 40 {
			num.Nickname = new(fmt.Sprintf("%s %s %d", r.city, team, len(ws.Numbers)+1))
		}
		if rng.IntN(100) < 25 {
			num.Label = new(team + " - " + r.city)
		}
		ws.Numbers = append(ws.Numbers, num)
	}
	return ws
}

// randomID is n characters of the API's ids: lowercase letters and digits.
func randomID(rng *rand.Rand, n int) string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[rng.IntN(len(chars))]
	}
	return string(b)
}
