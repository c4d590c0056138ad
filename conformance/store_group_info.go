package conformance

import (
	"bytes"
	"errors"
	"net/http"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// The sentences of the contract (core/store/groupinfo.go) that the group
// info rules test.
const (
	cGroupInfoID    = "ID names the group: the records of one group share it, and records of different groups never do."
	cGroupInfoSet   = "Such a store, on a Set whose opts.Seen is not zero and opts.Replace is not set, records Seen as the group's latest (and, on the group's first such Set, as its creation time) and, when opts.Facts is not nil, Facts as the group's facts, within that Set call: it never costs a store call of its own."
	cGroupInfoKeep  = "A Set with Replace leaves the group's info as it is."
	cGroupInfoNone  = "Records set without Seen have info with zero times and nil Facts, and an ID all the same."
	cGroupInfoGone  = "A missing or expired record is an error that matches ErrNotFound."
	cDevices        = "Devices lists the browser sessions (\"devices\") of a subject in the Manager's audience, most recently seen first: per browser, its kind, creation time, last seen, expiry and recorded facts."
	cRevokeOthers   = "RevokeOtherSessions signs out every other device of the session's subject in the Manager's audience (\"sign out all other devices\"): it deletes the records of every browser session that Session.Devices does not mark Current, keeping this browser's session and remember records."
	groupInfoSecond = 1_700_000_000
)

func init() {
	storeRules = append(storeRules,
		&storeRule{name: "group_info_link", contract: cGroupInfoID, groupInf: true, run: ruleGroupInfoLink},
		&storeRule{name: "group_info_seen", infoTimes: true, contract: cGroupInfoSet, groupInf: true, run: ruleGroupInfoSeen},
		&storeRule{name: "group_info_replace", infoTimes: true, contract: cGroupInfoKeep, groupInf: true, run: ruleGroupInfoReplace},
		&storeRule{name: "group_info_none", infoTimes: true, contract: cGroupInfoNone, groupInf: true, run: ruleGroupInfoNone},
		&storeRule{name: "group_info_missing", contract: cGroupInfoGone, groupInf: true, run: ruleGroupInfoMissing},
		&storeRule{name: "devices", infoTimes: true, contract: cDevices, index: true, groupInf: true, run: ruleDevices},
		&storeRule{name: "devices_revoke_others", contract: cRevokeOthers, index: true, groupInf: true, run: ruleDevicesRevokeOthers},
	)
}

// seenAt returns a whole second of the rules' fixed Seen times.
func seenAt(i int) time.Time { return time.Unix(groupInfoSecond+int64(i), 0) }

// groupInfo reads the group info of a record, failing the rule on error.
func (c *storeCase) groupInfo(name, key string) store.GroupInfo {
	c.t.Helper()
	info, err := c.st.(store.GroupInfoReader).GroupInfo(c.ctx, name, key, c.now())
	if err != nil {
		c.fatalf("GroupInfo(%q, %q): %v", name, key, err)
	}
	return info
}

// wantInfo checks a group info's times and facts.
func (c *storeCase) wantInfo(info store.GroupInfo, created, seen time.Time, facts []byte, why string) {
	c.t.Helper()
	if !info.Created.Equal(created) || !info.Seen.Equal(seen) || !bytes.Equal(info.Facts, facts) {
		c.fatalf("%s: GroupInfo = created %v, seen %v, facts %s; want created %v, seen %v, facts %s",
			why, info.Created, info.Seen, describe(info.Facts), created, seen, describe(facts))
	}
}

func ruleGroupInfoLink(c *storeCase) {
	s1, r1, s2, other := newKey(), newKey(), newKey(), newKey()
	c.set(sessionName, s1, []byte("session"), store.SetOptions{Seen: seenAt(0)})
	c.set(rememberName, r1, []byte("remember"), store.SetOptions{Partner: store.RecordKey{Name: sessionName, Key: s1}, Seen: seenAt(0)})
	c.set(sessionName, s2, []byte("rotated"), store.SetOptions{OldKey: s1, StaleTTL: longTTL, Seen: seenAt(1)})
	c.set(sessionName, other, []byte("another browser"), store.SetOptions{Seen: seenAt(0)})
	id := c.groupInfo(sessionName, s1).ID
	if id == "" {
		c.fatalf("GroupInfo of a record has an empty ID")
	}
	for _, rk := range []store.RecordKey{{Name: rememberName, Key: r1}, {Name: sessionName, Key: s2}} {
		if got := c.groupInfo(rk.Name, rk.Key).ID; got != id {
			c.fatalf("GroupInfo(%q).ID = %q; want %q, the ID of its group (partner, rotation)", rk.Name, got, id)
		}
	}
	if got := c.groupInfo(sessionName, other).ID; got == id {
		c.fatalf("a record of another group has the same GroupInfo ID %q", id)
	}
	for _, k := range []string{s1, s2, r1} {
		if bytes.Contains([]byte(id), []byte(k)) {
			c.fatalf("GroupInfo ID %q holds the storage key %q", id, k)
		}
	}
}

func ruleGroupInfoSeen(c *storeCase) {
	s1, r1, s2, s3 := newKey(), newKey(), newKey(), newKey()
	facts := []byte(`{"ua":"Phone/1"}`)
	c.set(sessionName, s1, []byte("v"), store.SetOptions{Seen: seenAt(0), Facts: facts})
	c.wantInfo(c.groupInfo(sessionName, s1), seenAt(0), seenAt(0), facts, "a group's first Set with Seen and Facts")
	c.set(rememberName, r1, []byte("v"), store.SetOptions{Partner: store.RecordKey{Name: sessionName, Key: s1}, Seen: seenAt(5)})
	c.wantInfo(c.groupInfo(sessionName, s1), seenAt(0), seenAt(5), facts, "a partner's Set with Seen and nil Facts")
	c.set(sessionName, s2, []byte("v"), store.SetOptions{OldKey: s1, StaleTTL: longTTL, Seen: seenAt(9)})
	c.wantInfo(c.groupInfo(rememberName, r1), seenAt(0), seenAt(9), facts, "a rotation's Set with Seen, read from the partner")
	next := []byte(`{"label":"mine"}`)
	c.set(sessionName, s3, []byte("v"), store.SetOptions{OldKey: s2, StaleTTL: longTTL, Seen: seenAt(12), Facts: next})
	c.wantInfo(c.groupInfo(sessionName, s3), seenAt(0), seenAt(12), next, "a rotation's Set with new Facts")
}

func ruleGroupInfoReplace(c *storeCase) {
	k := newKey()
	facts := []byte(`{"ip":"192.0.2.1"}`)
	c.set(sessionName, k, []byte("v"), store.SetOptions{Seen: seenAt(0), Facts: facts})
	c.set(sessionName, k, []byte("replaced"), store.SetOptions{Replace: true, Seen: seenAt(30), Facts: []byte(`{}`)})
	c.wantInfo(c.groupInfo(sessionName, k), seenAt(0), seenAt(0), facts, "after a Set with Replace")
}

func ruleGroupInfoNone(c *storeCase) {
	k, next := newKey(), newKey()
	c.set(sessionName, k, []byte("v"), store.SetOptions{})
	info := c.groupInfo(sessionName, k)
	if info.ID == "" {
		c.fatalf("GroupInfo of a record set without Seen has an empty ID")
	}
	c.wantInfo(info, time.Time{}, time.Time{}, nil, "a record set without Seen")
	c.set(sessionName, next, []byte("v"), store.SetOptions{OldKey: k, StaleTTL: longTTL, Seen: seenAt(3)})
	c.cite = cGroupInfoSet
	c.wantInfo(c.groupInfo(sessionName, next), seenAt(3), seenAt(3), nil, "the group's first Set with Seen")
}

func ruleGroupInfoMissing(c *storeCase) {
	gi := c.st.(store.GroupInfoReader)
	wantGone := func(name, key, why string) {
		c.t.Helper()
		_, err := gi.GroupInfo(c.ctx, name, key, c.now())
		if !errors.Is(err, session.ErrNotFound) {
			c.fatalf("%s: GroupInfo error %v; want an error matching session.ErrNotFound", why, err)
		}
	}
	wantGone(sessionName, newKey(), "a record never set")
	s1, r1 := newKey(), newKey()
	c.set(sessionName, s1, []byte("v"), store.SetOptions{Seen: seenAt(0)})
	c.set(rememberName, r1, []byte("v"), store.SetOptions{Partner: store.RecordKey{Name: sessionName, Key: s1}, Seen: seenAt(0)})
	c.del(sessionName, s1, nil)
	wantGone(rememberName, r1, "the partner of a deleted record")
	short := newKey()
	c.set(sessionName, short, []byte("v"), store.SetOptions{TTL: shortTTL, Seen: seenAt(0)})
	c.expire(c.missing(sessionName, short))
	wantGone(sessionName, short, "an expired record")
}

// deviceLogin signs subject in on a new browser with facts.
func (c *storeCase) deviceLogin(m *session.Manager, subject, label string) storeJar {
	c.t.Helper()
	j := storeJar{}
	var err error
	j.serve(c, func(w http.ResponseWriter, r *http.Request) {
		s := newSession(m, w, r)
		s.SetSubject(subject)
		s.SetDeviceFacts(session.DeviceFacts{UserAgent: "UA " + label, IP: "192.0.2.7", Label: label})
		err = s.Save()
	})
	if err != nil {
		c.fatalf("login of %s on %s: %v", subject, label, err)
	}
	return j
}

// devices lists the devices of subject, failing the rule on error.
func (c *storeCase) devices(m *session.Manager, subject string) []session.Device {
	c.t.Helper()
	ds, err := m.Devices(c.ctx, subject)
	if err != nil {
		c.fatalf("Devices(%q): %v", subject, err)
	}
	return ds
}

func ruleDevices(c *storeCase) {
	m := c.manager(c.st, true)
	subject := "devices-" + newKey()[:8]
	c.deviceLogin(m, subject, "phone")
	c.skip(2 * time.Second)
	c.deviceLogin(m, subject, "laptop")
	c.deviceLogin(m, "other-"+subject, "elsewhere")
	ds := c.devices(m, subject)
	if len(ds) != 2 {
		c.fatalf("Devices lists %d devices after two logins; want 2 (each browser's session and remember records as one)", len(ds))
	}
	if ds[0].Facts.Label != "laptop" || ds[1].Facts != (session.DeviceFacts{UserAgent: "UA phone", IP: "192.0.2.7", Label: "phone"}) {
		c.fatalf("Devices facts = %+v, %+v; want the laptop (seen last) first, then the phone", ds[0].Facts, ds[1].Facts)
	}
	for i, d := range ds {
		if d.Kind != session.CookieRemember || d.Created.IsZero() || d.LastSeen.Before(d.Created) || !d.Expires.After(d.LastSeen) || d.ID == "" {
			c.fatalf("device %d = %+v; want a remember device with its times and an ID", i, d)
		}
	}
	if ds[0].ID == ds[1].ID {
		c.fatalf("two browsers have the same device ID %q", ds[0].ID)
	}
}

func ruleDevicesRevokeOthers(c *storeCase) {
	m := c.manager(c.st, true)
	subject := "devices-" + newKey()[:8]
	phone := c.deviceLogin(m, subject, "phone")
	laptop := c.deviceLogin(m, subject, "laptop")
	tablet := c.deviceLogin(m, subject, "tablet")
	other := c.deviceLogin(m, "other-"+subject, "elsewhere")

	var n int
	var err error
	laptop.clone().serve(c, func(w http.ResponseWriter, r *http.Request) {
		s, oerr := openSession(m, w, r)
		if oerr != nil {
			err = oerr
			return
		}
		n, err = m.RevokeOtherSessions(c.ctx, s)
	})
	if err != nil || n != 2 {
		c.fatalf("RevokeOtherSessions = %d, %v; want 2, nil", n, err)
	}
	for _, j := range []storeJar{phone, tablet} {
		if _, err := c.open(m, j); !errors.Is(err, session.ErrNotFound) {
			c.fatalf("another browser opens after RevokeOtherSessions: %v; want ErrNotFound", err)
		}
		if _, err := c.open(m, j.only(m.RememberCookieName())); !errors.Is(err, session.ErrNotFound) {
			c.fatalf("another browser's remember cookie opens after RevokeOtherSessions: %v; want ErrNotFound", err)
		}
	}
	if _, err := c.open(m, laptop); err != nil {
		c.fatalf("the current browser after RevokeOtherSessions: %v", err)
	}
	if _, err := c.open(m, laptop.only(m.RememberCookieName())); err != nil {
		c.fatalf("the current browser's remember cookie after RevokeOtherSessions: %v", err)
	}
	if _, err := c.open(m, other); err != nil {
		c.fatalf("another subject's browser after RevokeOtherSessions: %v", err)
	}
	ds := c.devices(m, subject)
	if len(ds) != 1 || (ds[0].Facts.Label != "laptop" && !c.opts.GroupInfoIDsOnly) {
		c.fatalf("Devices after RevokeOtherSessions = %+v; want the laptop alone", ds)
	}
	if ok, err := m.RevokeDevice(c.ctx, subject, ds[0].ID); !ok || err != nil {
		c.fatalf("RevokeDevice = %v, %v", ok, err)
	}
	if _, err := c.open(m, laptop); !errors.Is(err, session.ErrNotFound) {
		c.fatalf("the browser after RevokeDevice: %v; want ErrNotFound", err)
	}
}
