package sqlstore

// The tables of sessiongo before it shared lua-resty-session's layout
// ("v0"): sessions keyed by (sid, name) with binary data and exact
// expiries (TIMESTAMPTZ or DATETIME(6) with microseconds, SQLite: INTEGER
// Unix microseconds), and a subject index sessions_meta(aud, sub, name,
// sid). fromV0 moves their rows into tables of the current layout and
// keeps the old tables, renamed "<table>_v0" and "<meta>_v0", for the
// operator to drop once satisfied:
//
//   - a sid saved under several cookie names (never done by the session
//     library: its ids are random) keeps the row that expires last;
//   - data is copied as text; a value with a byte that is not printable
//     ASCII (0x20 to 0x7E), or that starts with "base64:", stays behind in
//     the _v0 table: the session library writes only JSON text of base64url
//     strings, so none of its records does;
//   - exp is cut to the second before it, the reference's convention
//     (whole seconds, live while exp >= now), so a record lives at most as
//     long as before;
//   - the index rows of the copied records follow, without the name.
//
// PostgreSQL and SQLite run all of it in one transaction, which locks the
// old tables: requests of an older version running meanwhile wait, and
// then fail against the new layout. MySQL commits DDL as it goes: the new
// tables are filled under temporary names ("<table>_v1") and swapped in
// by one RENAME TABLE, so a failure leaves the old tables in use (Migrate
// starts over); sessions an older version saves between the copy and the
// swap are not copied.

// fromV0 returns the statements that move tables of layout v0 (with the
// grp column, see addGroups) to the current layout, and whether they run
// in one transaction.
func (d Dialect) fromV0(t names) (stmts []string, tx bool) {
	old := names{ // the v0 tables under their new names
		table: t.table + "_v0", tableBase: t.tableBase + "_v0",
		meta: t.meta + "_v0", metaBase: t.metaBase + "_v0",
		schemaPrefix: t.schemaPrefix,
	}
	// One row per sid: the one that expires last (the lowest name on a tie).
	const nl = "\n  " // statements over several lines, for the README
	latest := func(table string) string {
		return nl + "AND NOT EXISTS (SELECT 1 FROM " + table + " p WHERE p.sid = o.sid" +
			" AND (p.exp > o.exp OR p.exp = o.exp AND p.name < o.name))"
	}
	switch d.kind {
	case kindPostgres:
		stmts = []string{
			"LOCK TABLE " + t.table + ", " + t.meta + " IN ACCESS EXCLUSIVE MODE",
			"ALTER TABLE " + t.table + " RENAME TO " + old.tableBase,
			"ALTER TABLE " + t.meta + " RENAME TO " + old.metaBase,
			// Index names are unique per schema: the primary keys' move
			// with their tables, the others are dropped.
			"ALTER INDEX IF EXISTS " + t.schemaPrefix + t.tableBase + "_pkey RENAME TO " + old.tableBase + "_pkey",
			"ALTER INDEX IF EXISTS " + t.schemaPrefix + t.metaBase + "_pkey RENAME TO " + old.metaBase + "_pkey",
			"DROP INDEX IF EXISTS " + t.schemaPrefix + t.tableBase + "_exp_idx",
			"DROP INDEX IF EXISTS " + t.schemaPrefix + t.tableBase + "_grp_idx",
			"DROP INDEX IF EXISTS " + t.schemaPrefix + t.metaBase + "_sid_idx",
		}
		stmts = append(stmts, d.schema(t)...)
		stmts = append(stmts,
			"INSERT INTO "+t.table+" (sid, name, data, exp, grp)"+
				nl+"SELECT o.sid, o.name, convert_from(o.data, 'UTF8'), date_trunc('second', o.exp AT TIME ZONE 'UTC'), o.grp"+
				nl+"FROM "+old.table+" o"+
				nl+"WHERE encode(o.data, 'hex') ~ '^(2[0-9a-f]|[3-6][0-9a-f]|7[0-9a-e])*$'"+
				nl+"AND substr(o.data, 1, 7) <> 'base64:'::bytea"+latest(old.table),
			"INSERT INTO "+t.meta+" (aud, sub, sid)"+
				nl+"SELECT m.aud, m.sub, m.sid FROM "+old.meta+" m JOIN "+t.table+" s ON s.sid = m.sid AND s.name = m.name",
		)
		return stmts, true
	case kindMySQL:
		tmp := names{ // the new tables until the swap; index names as final
			table: t.table + "_v1", tableBase: t.tableBase,
			meta: t.meta + "_v1", metaBase: t.metaBase,
			schemaPrefix: t.schemaPrefix,
		}
		stmts = []string{
			"DROP TABLE IF EXISTS " + tmp.meta, // left by an interrupted run
			"DROP TABLE IF EXISTS " + tmp.table,
		}
		stmts = append(stmts, d.schema(tmp)...)
		stmts = append(stmts,
			"INSERT INTO "+tmp.table+" (sid, name, data, exp, grp)"+
				nl+"SELECT o.sid, o.name, CAST(o.data AS CHAR CHARACTER SET ascii),"+
				" FROM_UNIXTIME(TIMESTAMPDIFF(SECOND, '1970-01-01', o.exp)), o.grp"+
				nl+"FROM "+t.table+" o"+
				nl+"WHERE CHAR_LENGTH(o.sid) <= 43 AND NOT (CONVERT(o.data USING latin1) REGEXP '[^ -~]')"+
				nl+"AND LEFT(o.data, 7) <> 'base64:'"+latest(t.table),
			"INSERT INTO "+tmp.meta+" (aud, sub, sid)"+
				nl+"SELECT m.aud, m.sub, m.sid FROM "+t.meta+" m JOIN "+tmp.table+" s ON s.sid = m.sid AND s.name = m.name",
			"RENAME TABLE "+t.table+" TO "+old.table+", "+t.meta+" TO "+old.meta+","+
				nl+tmp.table+" TO "+t.table+", "+tmp.meta+" TO "+t.meta,
		)
		return stmts, false
	case kindSQLite:
		stmts = []string{
			"ALTER TABLE " + t.table + " RENAME TO " + old.tableBase,
			"ALTER TABLE " + t.meta + " RENAME TO " + old.metaBase,
			"DROP INDEX IF EXISTS " + t.schemaPrefix + t.tableBase + "_exp_idx",
			"DROP INDEX IF EXISTS " + t.schemaPrefix + t.tableBase + "_grp_idx",
			"DROP INDEX IF EXISTS " + t.schemaPrefix + t.metaBase + "_sid_idx",
		}
		stmts = append(stmts, d.schema(t)...)
		stmts = append(stmts,
			"INSERT INTO "+t.table+" (sid, name, data, exp, grp)"+
				nl+"SELECT o.sid, o.name, CAST(o.data AS TEXT), o.exp / 1000000, o.grp"+
				nl+"FROM "+old.table+" o"+
				nl+"WHERE instr(o.data, x'00') = 0 AND NOT (CAST(o.data AS TEXT) GLOB '*[^ -~]*')"+
				nl+"AND substr(o.data, 1, 7) <> CAST('base64:' AS BLOB)"+latest(old.table),
			"INSERT INTO "+t.meta+" (aud, sub, sid)"+
				nl+"SELECT m.aud, m.sub, m.sid FROM "+old.meta+" m JOIN "+t.tableBase+" s ON s.sid = m.sid AND s.name = m.name",
		)
		return stmts, true
	}
	return nil, false
}
