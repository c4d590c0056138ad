package sqlstore

import "strings"

// schema returns the DDL statements that create the tables and indexes:
// lua-resty-session's tables, as its doc comments give them (sessions keyed
// by sid alone, data as text, sessions_meta(aud, sub, sid) referencing it
// with ON DELETE CASCADE), with NOT NULL on the columns the reference
// always writes, case-sensitive key columns on MySQL (ascii_bin), an index
// on sessions_meta(sid) for the cascade, and one column of sessiongo's own:
// grp, the record's group, nullable (every statement of the reference
// leaves it alone; a NULL group is a group of its own) and indexed. The
// first statement creates the sessions table; Migrate upgrades an older
// one before it runs the others.
func (d Dialect) schema(t names) []string {
	switch d.kind {
	case kindPostgres:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + t.table + " (\n" +
				"  sid  TEXT PRIMARY KEY,\n" +
				"  name TEXT NOT NULL,\n" +
				"  data TEXT NOT NULL,\n" +
				"  exp  TIMESTAMP WITH TIME ZONE NOT NULL,\n" +
				"  grp  TEXT -- sessiongo: the browser session's group; NULL: a group of its own\n" +
				")",
			"CREATE INDEX IF NOT EXISTS " + t.tableBase + "_exp_idx ON " + t.table + " (exp)",
			"CREATE INDEX IF NOT EXISTS " + t.tableBase + "_grp_idx ON " + t.table + " (grp)",
			"CREATE TABLE IF NOT EXISTS " + t.meta + " (\n" +
				"  aud TEXT,\n" +
				"  sub TEXT,\n" +
				"  sid TEXT REFERENCES " + t.table + " (sid) ON DELETE CASCADE ON UPDATE CASCADE,\n" +
				"  PRIMARY KEY (aud, sub, sid)\n" +
				")",
			"CREATE INDEX IF NOT EXISTS " + t.metaBase + "_sid_idx ON " + t.meta + " (sid)",
		}
	case kindMySQL:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + t.table + " (\n" +
				"  sid  CHAR(43) PRIMARY KEY,\n" +
				"  name VARCHAR(255) NOT NULL,\n" +
				"  data MEDIUMTEXT NOT NULL,\n" +
				"  exp  DATETIME NOT NULL,\n" +
				"  grp  VARCHAR(64) NULL, -- sessiongo: the browser session's group; NULL: a group of its own\n" +
				"  INDEX " + t.tableBase + "_exp_idx (exp),\n" +
				"  INDEX " + t.tableBase + "_grp_idx (grp)\n" +
				") ENGINE = InnoDB CHARACTER SET ascii COLLATE ascii_bin",
			"CREATE TABLE IF NOT EXISTS " + t.meta + " (\n" +
				"  aud VARCHAR(255),\n" +
				"  sub VARCHAR(255),\n" +
				"  sid CHAR(43),\n" +
				"  PRIMARY KEY (aud, sub, sid),\n" +
				"  INDEX " + t.metaBase + "_sid_idx (sid),\n" +
				"  FOREIGN KEY (sid) REFERENCES " + t.table + " (sid) ON DELETE CASCADE ON UPDATE CASCADE\n" +
				") ENGINE = InnoDB CHARACTER SET ascii COLLATE ascii_bin",
		}
	case kindSQLite:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + t.table + " (\n" +
				"  sid  TEXT PRIMARY KEY NOT NULL,\n" +
				"  name TEXT NOT NULL,\n" +
				"  data TEXT NOT NULL,\n" +
				"  exp  INTEGER NOT NULL, -- Unix seconds\n" +
				"  grp  TEXT -- sessiongo: the browser session's group; NULL: a group of its own\n" +
				")",
			"CREATE INDEX IF NOT EXISTS " + t.schemaPrefix + t.tableBase + "_exp_idx ON " + t.tableBase + " (exp)",
			"CREATE INDEX IF NOT EXISTS " + t.schemaPrefix + t.tableBase + "_grp_idx ON " + t.tableBase + " (grp)",
			"CREATE TABLE IF NOT EXISTS " + t.meta + " (\n" +
				"  aud TEXT NOT NULL,\n" +
				"  sub TEXT NOT NULL,\n" +
				"  sid TEXT NOT NULL REFERENCES " + t.tableBase + " (sid) ON DELETE CASCADE ON UPDATE CASCADE,\n" +
				"  PRIMARY KEY (aud, sub, sid)\n" +
				")",
			"CREATE INDEX IF NOT EXISTS " + t.schemaPrefix + t.metaBase + "_sid_idx ON " + t.metaBase + " (sid)",
		}
	}
	return nil
}

// addGroups returns the statements that add the grp column, NULL in every
// existing row, and its index to a sessions table without them: one made
// with lua-resty-session's DDL, or by sessiongo before record groups.
func (d Dialect) addGroups(t names) []string {
	switch d.kind {
	case kindPostgres:
		return []string{
			"ALTER TABLE " + t.table + " ADD COLUMN grp TEXT",
			"CREATE INDEX IF NOT EXISTS " + t.tableBase + "_grp_idx ON " + t.table + " (grp)",
		}
	case kindMySQL:
		return []string{
			"ALTER TABLE " + t.table + " ADD COLUMN grp VARCHAR(64) NULL, ADD INDEX " + t.tableBase + "_grp_idx (grp)",
		}
	case kindSQLite:
		return []string{
			"ALTER TABLE " + t.table + " ADD COLUMN grp TEXT",
			"CREATE INDEX IF NOT EXISTS " + t.schemaPrefix + t.tableBase + "_grp_idx ON " + t.tableBase + " (grp)",
		}
	}
	return nil
}

// hasColumn returns the query that counts the columns named column of
// table (0 when the table does not exist), and its arguments.
func (d Dialect) hasColumn(full, base, schemaPrefix, column string) (string, []any) {
	schema := strings.TrimSuffix(schemaPrefix, ".")
	switch d.kind {
	case kindPostgres:
		// to_regclass resolves the name as the DDL did (search path, case
		// folding), and is NULL for a missing table.
		return "SELECT COUNT(*) FROM pg_attribute WHERE attrelid = to_regclass($1)" +
			" AND attname = $2 AND NOT attisdropped", []any{full, column}
	case kindMySQL:
		var db any // the connection's database unless the table names one
		if schema != "" {
			db = schema
		}
		return "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = COALESCE(?, DATABASE())" +
			" AND table_name = ? AND column_name = ?", []any{db, base, column}
	case kindSQLite:
		if schema != "" {
			return "SELECT COUNT(*) FROM pragma_table_info(?, ?) WHERE name = ?", []any{base, schema, column}
		}
		return "SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?", []any{base, column}
	}
	return "", nil
}
