// Prepared statements kept for the life of a connection: `db.prepare(sql)` answers the statement
// SQLite already compiled for the same text instead of parsing it again on every call. The stores
// keep their SQL inline, next to the method that runs it.
import type { DatabaseSync, StatementSync } from 'node:sqlite'

export function keepPreparedStatements(db: DatabaseSync): DatabaseSync {
  const prepare = db.prepare.bind(db)
  const statements = new Map<string, StatementSync>()
  db.prepare = (sql: string) => {
    let s = statements.get(sql)
    if (!s) {
      s = prepare(sql)
      statements.set(sql, s)
    }
    return s
  }
  return db
}
