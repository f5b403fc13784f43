// bigquery_sql_engine.js - the SQL engine behind the BigQuery fakes: a real SQL engine (DuckDB,
// npm @duckdb/node-api, in memory) that holds the tables bizoope creates, the rows it commits
// through the Storage Write API fake, and runs the statements it sends as query jobs, so tests
// compare tables the MERGE itself produced instead of a model of it.
//
// Usage: node bigquery_sql_engine.js DUMP  - prints "port=N", serves HTTP/1.1 JSON on
// 127.0.0.1:N until stdin closes, then writes every table ({"tables": {"D.T": {"columns":
// [...], "rows": [[...], ...]}}}, rows sorted; values as text, TIMESTAMP as "YYYY-MM-DD
// HH:MM:SS.ffffff" UTC and DATETIME as "YYYY-MM-DD HH:MM:SS") to DUMP and exits.
//   POST /tables  a BigQuery table resource (tables.insert body): the table, once (409 after).
//                 A partitioned table records its partition column; queries report the
//                 partitions of it they read (see /query).
//   POST /rows    {"table": "projects/P/datasets/D/tables/T", "rows": [decoded row, ...]}:
//                 committed rows of a write stream (protobuf values as bigquery_write_fake.js
//                 decodes them: DATE int32 days, DATETIME packed civil int64, TIMESTAMP int64
//                 microseconds, NUMERIC/BIGNUMERIC decimal strings, INT64 as strings).
//   POST /query   {"query", "queryParameters"} as in jobs.insert's configuration.query (with
//                 "dryRun": true the statement is bound and EXPLAINed, not run):
//                 200 {"statementType", "dmlStats" {inserted, updated, deleted}, "schema",
//                 "rows", "partitionsRead"} or 400 {"reason", "message"} for what BigQuery
//                 would refuse.
//
// The dialect translation is small and written down here, for the SQL bizoope sends:
// `project.dataset.table` -> "dataset"."table", `name` -> "name", @p -> a typed parameter,
// MERGE t -> MERGE INTO t, SELECT * EXCEPT (...) -> SELECT * EXCLUDE (...), BigQuery's type
// names in CAST and DDL -> DuckDB's, and BigQuery's functions that the shipped workflows use
// (DATE(x), TIMESTAMP(x), DATE_SUB, SAFE_DIVIDE, UNIX_DATE, UNIX_MICROS, FORMAT_TIMESTAMP,
// CURRENT_TIMESTAMP(), CURRENT_DATETIME()) as DuckDB macros named bq_*; a query's defaultDataset becomes DuckDB's
// search_path while it runs.
// A query of several statements is a script, run statement by statement: DECLARE and SET of
// variables (DuckDB's SET VARIABLE), @@row_count (the rows the last DML statement changed),
// BEGIN TRANSACTION / COMMIT TRANSACTION / ROLLBACK TRANSACTION (DuckDB's own; a failing
// statement or a script ending inside one rolls it back), CREATE TABLE [IF NOT EXISTS] with
// BigQuery column types (and PARTITION BY a column); its result is its last statement's.
// What BigQuery refuses and DuckDB would allow is refused before translation: a statement
// naming a table without its dataset (and no defaultDataset), a comparison of a TIMESTAMP
// parameter with a DATETIME column (and the reverse), DML without a WHERE clause, a table
// created inside a transaction, and an INSERT of a value whose type BigQuery would not coerce
// to its column's (DATETIME into TIMESTAMP and the reverse, FLOAT64 into NUMERIC or INT64, a
// number, date or time into STRING).
'use strict';

const fs = require('fs');
const http = require('http');

const [dumpPath] = process.argv.slice(2);

// BigQuery types as stored here. DATETIME is TIMESTAMP (no zone), TIMESTAMP is TIMESTAMPTZ in
// UTC, BIGNUMERIC is DECIMAL(38, 18) (the fake's limit: DuckDB's widest decimal).
const TYPES = {
  STRING: 'VARCHAR', INT64: 'BIGINT', INTEGER: 'BIGINT', BOOL: 'BOOLEAN', BOOLEAN: 'BOOLEAN',
  NUMERIC: 'DECIMAL(38, 9)', BIGNUMERIC: 'DECIMAL(38, 18)', DATE: 'DATE', DATETIME: 'TIMESTAMP',
  TIMESTAMP: 'TIMESTAMPTZ', FLOAT64: 'DOUBLE',
};

const tables = new Map(); // "D.T" -> {fields: [{name, type, mode}], partition: column or null}
let conn;

function quoteId(name) {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw refusal('invalid', `bad identifier ${name}`);
  return `"${name}"`;
}

function refusal(reason, message) {
  const e = new Error(message);
  e.reason = reason;
  return e;
}

async function createTable(res) {
  const ref = res.tableReference || {};
  const key = `${ref.datasetId}.${ref.tableId}`;
  if (tables.has(key)) return 409;
  const fields = (res.schema && res.schema.fields) || [];
  if (fields.length === 0) throw refusal('invalid', 'a table needs a schema');
  const cols = fields.map((f) => {
    const t = TYPES[f.type];
    if (!t) throw refusal('invalid', `type ${f.type} of ${f.name} is not known`);
    return `${quoteId(f.name)} ${t}${f.mode === 'REQUIRED' ? ' NOT NULL' : ''}`;
  });
  await conn.run(`CREATE SCHEMA IF NOT EXISTS ${quoteId(ref.datasetId)}`);
  await conn.run(`CREATE TABLE ${quoteId(ref.datasetId)}.${quoteId(ref.tableId)} (${cols.join(', ')})`);
  const part = res.timePartitioning && res.timePartitioning.field;
  tables.set(key, {fields, partition: part || null});
  return 200;
}

function two(n) {
  return String(n).padStart(2, '0');
}

// A decoded protobuf value of a BigQuery column as the text DuckDB casts to the column's type
// (the appender casts VARCHAR to the column's type); null for NULL.
function text(value, type) {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'INT64': case 'INTEGER':
      return String(BigInt(value));
    case 'BOOL': case 'BOOLEAN':
      return value ? 'true' : 'false';
    case 'NUMERIC': case 'BIGNUMERIC':
      if (!/^-?[0-9]+(\.[0-9]+)?$/.test(value)) throw refusal('invalid', `bad numeric ${value}`);
      return value;
    case 'DATE': {
      const d = new Date(Number(value) * 86400000);
      return `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}`;
    }
    case 'DATETIME': {
      const p = BigInt(value);
      const f = (shift, bits) => Number((p >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n));
      return `${String(f(46, 17)).padStart(4, '0')}-${two(f(42, 4))}-${two(f(37, 5))} ` +
             `${two(f(32, 5))}:${two(f(26, 6))}:${two(f(20, 6))}`;
    }
    case 'TIMESTAMP': {
      const us = BigInt(value);
      const ms = us / 1000n - (us % 1000n < 0n ? 1n : 0n);
      const micros = String(((us % 1000000n) + 1000000n) % 1000000n).padStart(6, '0');
      return `${new Date(Number(ms)).toISOString().slice(0, 19).replace('T', ' ')}.${micros}+00`;
    }
    default:
      return String(value);
  }
}

// Committed rows, appended (DuckDB's appender: ten times the speed of INSERT ... VALUES).
async function insertRows(body) {
  const m = /^projects\/[^/]+\/datasets\/([^/]+)\/tables\/([^/]+)$/.exec(body.table || '');
  if (!m || !tables.has(`${m[1]}.${m[2]}`)) throw refusal('notFound', `no table ${body.table}`);
  const t = tables.get(`${m[1]}.${m[2]}`);
  const rows = body.rows || [];
  const appender = await conn.createAppender(m[2], m[1]);
  try {
    for (const r of rows) {
      for (const f of t.fields) {
        const v = text(r[f.name], f.type);
        if (v === null) appender.appendNull();
        else appender.appendVarchar(v);
      }
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  return rows.length;
}

// ---- queries ------------------------------------------------------------------------------

const PARAM_TYPES = {STRING: 'VARCHAR', INT64: 'BIGINT', DATE: 'DATE', DATETIME: 'TIMESTAMP',
                     TIMESTAMP: 'TIMESTAMPTZ', BOOL: 'BOOLEAN', NUMERIC: 'DECIMAL(38, 9)'};

// The column types of every table a statement names, by column name (for the refusals).
function columnTypes(sql) {
  const out = new Map();
  for (const m of sql.matchAll(/`[^`.]+\.([^`.]+)\.([^`.]+)`/g)) {
    const t = tables.get(`${m[1]}.${m[2]}`);
    if (t) for (const f of t.fields) out.set(f.name, f.type);
  }
  return out;
}

// What BigQuery would refuse that DuckDB lets through.
function refuseLikeBigQuery(sql, params, unqualifiedOk) {
  const noDataset = /\b(?:FROM|JOIN|INTO|UPDATE|MERGE)\s+`?([A-Za-z_][A-Za-z0-9_]*)`?(?=[\s(),;]|$)/gi;
  const ctes = new Set([...sql.matchAll(/(?:\bWITH|,)\s*([A-Za-z_][A-Za-z0-9_]*)\s+AS\s*\(/gi)]
    .map((m) => m[1].toLowerCase()));
  for (const m of unqualifiedOk ? [] : sql.matchAll(noDataset)) {
    if (!/^(SELECT|UNNEST|SET)$/i.test(m[1]) && !ctes.has(m[1].toLowerCase())) {
      throw refusal('invalidQuery', `Table "${m[1]}" must be qualified with a dataset ` +
                    '(e.g. dataset.table).');
    }
  }
  const cols = columnTypes(sql);
  const ptypes = new Map(params.map((p) => [p.name, p.parameterType.type]));
  for (const m of sql.matchAll(/`?([A-Za-z_][A-Za-z0-9_]*)`?\s*(?:<=|>=|<>|!=|=|<|>)\s*@([A-Za-z_][A-Za-z0-9_]*)/g)) {
    const c = cols.get(m[1]), p = ptypes.get(m[2]);
    if ((c === 'TIMESTAMP' && p === 'DATETIME') || (c === 'DATETIME' && p === 'TIMESTAMP')) {
      throw refusal('invalidQuery', `No matching signature for operator comparing ${c} and ${p}`);
    }
  }
  if (/^\s*(UPDATE|DELETE)\b/i.test(sql) && !/\bWHERE\b/i.test(sql)) {
    throw refusal('invalidQuery', `${RegExp.$1} must have a WHERE clause`);
  }
}

// BigQuery's type names as DuckDB's (in CAST, DECLARE and literals).
const CAST_TYPES = {STRING: 'VARCHAR', INT64: 'BIGINT', INTEGER: 'BIGINT', FLOAT64: 'DOUBLE',
                    NUMERIC: 'DECIMAL(38, 9)', BIGNUMERIC: 'DECIMAL(38, 18)', BOOL: 'BOOLEAN',
                    BOOLEAN: 'BOOLEAN', DATE: 'DATE', DATETIME: 'TIMESTAMP',
                    TIMESTAMP: 'TIMESTAMPTZ'};

// BigQuery's functions the shipped workflows and the ledger use, as DuckDB macros.
const MACROS = [
  'CREATE MACRO bq_date(x) AS CAST(x AS DATE)',
  'CREATE MACRO bq_timestamp(x) AS CAST(x AS TIMESTAMPTZ)',
  'CREATE MACRO bq_date_sub(d, i) AS CAST(CAST(d AS DATE) - i AS DATE)',
  'CREATE MACRO bq_safe_divide(a, b) AS CASE WHEN b = 0 THEN NULL ELSE a / b END',
  "CREATE MACRO bq_unix_date(d) AS (CAST(d AS DATE) - DATE '1970-01-01')",
  'CREATE MACRO bq_unix_micros(t) AS epoch_us(t)',
  "CREATE MACRO bq_format_timestamp(f, t) AS strftime(t, replace(f, '%E6S', '%S.%f'))",
  // BigQuery's COUNTIF counts 0 over no rows; DuckDB's gives NULL there
  'CREATE MACRO bq_countif(x) AS COALESCE(count_if(x), 0)',
];
const MACRO_NAMES = ['DATE', 'TIMESTAMP', 'DATE_SUB', 'SAFE_DIVIDE', 'UNIX_DATE', 'UNIX_MICROS',
                     'FORMAT_TIMESTAMP', 'COUNTIF'];

function translate(sql, params) {
  const types = new Map(params.map((p) => [p.name, p.parameterType.type]));
  let out = sql.replace(/`([^`]+)`/g, (_, name) => {
    const parts = name.split('.');
    if (parts.length === 3) return `${quoteId(parts[1])}.${quoteId(parts[2])}`;
    return parts.map(quoteId).join('.');
  });
  out = out.replace(/\bMERGE\s+(?!INTO\b)/i, 'MERGE INTO ');
  out = out.replace(/\*\s+EXCEPT\s*\(/gi, '* EXCLUDE (');
  out = out.replace(/\bCURRENT_TIMESTAMP\s*\(\s*\)/gi, 'get_current_timestamp()');
  out = out.replace(/\bCURRENT_DATETIME\s*\(\s*\)/gi, 'localtimestamp');
  out = out.replace(new RegExp(`\\b(${MACRO_NAMES.join('|')})\\s*\\(`, 'gi'),
                    (_, f) => `bq_${f.toLowerCase()}(`);
  out = out.replace(/\bAS\s+(STRING|INT64|INTEGER|FLOAT64|NUMERIC|BIGNUMERIC|BOOL|BOOLEAN|DATETIME|TIMESTAMP|DATE)\b(?!\s*\()/gi,
                    (_, t) => `AS ${CAST_TYPES[t.toUpperCase()]}`);
  out = out.replace(/\b(DATETIME|TIMESTAMP)(\s+')/gi, (_, t, rest) => `${CAST_TYPES[t.toUpperCase()]}${rest}`);
  out = out.replace(/(?<!@)@([A-Za-z_][A-Za-z0-9_]*)/g, (_, name) => {
    if (!types.has(name)) throw refusal('invalidQuery', `Undeclared query parameters: ${name}`);
    return `CAST($${name} AS ${PARAM_TYPES[types.get(name)] || 'VARCHAR'})`;
  });
  return out;
}

// The values of the parameters a translated statement names (DuckDB refuses others).
function usedValues(translated, values) {
  const used = {};
  for (const [name, v] of Object.entries(values)) {
    if (new RegExp(`\\$${name}\\b`).test(translated)) used[name] = v;
  }
  return used;
}

// ---- scripts --------------------------------------------------------------------------------

// The statements of a query, split at top-level semicolons (quotes, backticks and comments
// respected), each trimmed, comments before it dropped.
function splitStatements(sql) {
  const out = [];
  let cur = '', quote = null;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (quote) {
      cur += c;
      if (c === '\\' && i + 1 < sql.length) cur += sql[++i];
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '"' || c === '`') {
      quote = c;
      cur += c;
    } else if (c === '#' || (c === '-' && sql[i + 1] === '-')) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end - 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === ';') {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
    } else {
      cur += c;
    }
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

// The table a statement names, resolved: {dataset, table} (a bare name in the default dataset).
function tableName(name, dataset) {
  const parts = name.replace(/`/g, '').split('.');
  if (parts.length === 1 && !dataset) {
    throw refusal('invalidQuery', `Table "${parts[0]}" must be qualified with a dataset ` +
                  '(e.g. dataset.table).');
  }
  return parts.length === 1 ? {dataset, table: parts[0]}
    : {dataset: parts[parts.length - 2], table: parts[parts.length - 1]};
}

// CREATE TABLE [IF NOT EXISTS] name (column TYPE [NOT NULL], ...) [PARTITION BY col] [...]:
// made as tables.insert would make it.
async function createFromDdl(st, dataset) {
  const m = /^CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?(`[^`]+`|[A-Za-z_][\w.]*)\s*\(/i.exec(st);
  if (!m) throw refusal('invalidQuery', `the fake makes only CREATE TABLE: ${st.slice(0, 60)}`);
  let depth = 1, i = m[0].length;
  for (; i < st.length && depth > 0; i++) {
    if (st[i] === '(') depth++;
    else if (st[i] === ')') depth--;
  }
  const body = st.slice(m[0].length, i - 1), rest = st.slice(i);
  const columns = [];
  depth = 0;
  let cur = '';
  for (const c of body) {
    if (c === ',' && depth === 0) { columns.push(cur.trim()); cur = ''; continue; }
    if (c === '(') depth++;
    if (c === ')') depth--;
    cur += c;
  }
  if (cur.trim()) columns.push(cur.trim());
  const fields = columns.filter((c) => !/^(PRIMARY|FOREIGN|CONSTRAINT)\b/i.test(c)).map((c) => {
    const f = /^`?([A-Za-z_]\w*)`?\s+([A-Za-z0-9]+)(\s*\([^)]*\))?([\s\S]*)$/.exec(c);
    if (!f || !TYPES[f[2].toUpperCase()]) throw refusal('invalidQuery', `bad column: ${c}`);
    return {name: f[1], type: f[2].toUpperCase(),
            mode: /\bNOT\s+NULL\b/i.test(f[4]) ? 'REQUIRED' : 'NULLABLE'};
  });
  const part = /\bPARTITION\s+BY\s+(?:DATE\s*\(\s*)?`?([A-Za-z_]\w*)/i.exec(rest);
  const ref = tableName(m[2], dataset);
  if (tables.has(`${ref.dataset}.${ref.table}`)) {
    if (m[1]) return;
    throw refusal('duplicate', `Already Exists: Table ${ref.dataset}.${ref.table}`);
  }
  await createTable({tableReference: {datasetId: ref.dataset, tableId: ref.table},
                     schema: {fields}, timePartitioning: part ? {type: 'DAY', field: part[1]} : undefined});
}

// Runs a query of several statements (or one DDL or procedural statement) as BigQuery runs a
// script; its result is the last statement's.
async function runScript(statements, body, unqualifiedOk) {
  const dataset = body.defaultDataset && body.defaultDataset.datasetId;
  const vars = new Set();
  let inTransaction = false, rowCount = null, last = {};
  const withVars = (text) => text
    .replace(/@@row_count\b/gi, rowCount === null ? 'NULL' : String(rowCount))
    .replace(/(?<![.\w@`"'$])([A-Za-z_]\w*)\b(?!\s*\()/g,
             (w) => (vars.has(w.toLowerCase()) ? `getvariable('${w.toLowerCase()}')` : w));
  const params = body.queryParameters || [];
  try {
    for (const st of statements) {
      let m;
      if ((m = /^DECLARE\s+([A-Za-z_]\w*)\s+([A-Za-z0-9]+)(?:\s+DEFAULT\s+([\s\S]+))?$/i.exec(st))) {
        const type = CAST_TYPES[m[2].toUpperCase()];
        if (!type) throw refusal('invalidQuery', `type ${m[2]} is not known`);
        const expr = m[3] ? translate(withVars(m[3]), params) : 'NULL';
        await conn.run(`SET VARIABLE ${m[1].toLowerCase()} = CAST((${expr}) AS ${type})`,
                       usedValues(expr, valuesOf(params)));
        vars.add(m[1].toLowerCase());
      } else if ((m = /^SET\s+([A-Za-z_]\w*)\s*=\s*([\s\S]+)$/i.exec(st)) && vars.has(m[1].toLowerCase())) {
        const expr = translate(withVars(m[2]), params);
        await conn.run(`SET VARIABLE ${m[1].toLowerCase()} = (${expr})`,
                       usedValues(expr, valuesOf(params)));
      } else if (/^BEGIN(\s+TRANSACTION)?$/i.test(st)) {
        if (inTransaction) throw refusal('invalidQuery', 'Transaction is already active');
        await conn.run('BEGIN TRANSACTION');
        inTransaction = true;
      } else if (/^COMMIT(\s+TRANSACTION)?$/i.test(st)) {
        if (!inTransaction) throw refusal('invalidQuery', 'No active transaction to commit');
        await conn.run('COMMIT');
        inTransaction = false;
      } else if (/^ROLLBACK(\s+TRANSACTION)?$/i.test(st)) {
        if (!inTransaction) throw refusal('invalidQuery', 'No active transaction to roll back');
        await conn.run('ROLLBACK');
        inTransaction = false;
      } else if (/^CREATE\b/i.test(st)) {
        if (inTransaction) {
          throw refusal('invalidQuery', 'CREATE TABLE is not supported inside multi-statement ' +
                        'transactions');
        }
        await createFromDdl(st, dataset);
        last = {statementType: 'CREATE_TABLE'};
      } else {
        last = await runStatement(dict(body, withVars(st)), unqualifiedOk);
        const d = last.dmlStats;
        rowCount = d ? d.inserted + d.updated + d.deleted : null;
      }
    }
    if (inTransaction) { // BigQuery rolls back what a script leaves open
      inTransaction = false;
      await conn.run('ROLLBACK');
    }
  } catch (e) {
    if (inTransaction) await conn.run('ROLLBACK');
    throw e;
  } finally {
    for (const v of vars) await conn.run(`RESET VARIABLE ${v}`);
  }
  if (statements.length === 1) return last;
  return {statementType: 'SCRIPT', schema: last.schema, rows: last.rows};
}

function dict(body, query) {
  return Object.assign({}, body, {query});
}

function valuesOf(params) {
  const values = {};
  for (const p of params) values[p.name] = p.parameterValue.value;
  return values;
}

// An INSERT's values against its columns: what BigQuery would not coerce is refused.
async function refuseInsertTypes(sql, translated, values, dataset) {
  const m = /^INSERT\s+(?:INTO\s+)?(`[^`]+`|[A-Za-z_][\w.]*)\s*(\(([^)]*)\))?\s*/i.exec(sql);
  if (!m) return;
  const ref = tableName(m[1], dataset);
  const t = tables.get(`${ref.dataset}.${ref.table}`);
  if (!t) return;
  const names = m[3] ? m[3].split(',').map((c) => c.trim().replace(/`/g, ''))
    : t.fields.map((f) => f.name);
  // the same statement translated: its query part starts after the column list
  const tm = /^INSERT\s+(?:INTO\s+)?("[^"]+"(?:\."[^"]+")?|[A-Za-z_][\w.]*)\s*(\([^)]*\))?\s*/i.exec(translated);
  let query = translated.slice(tm[0].length);
  if (/^VALUES\b/i.test(query)) query = `SELECT * FROM (${query})`;
  const r = await conn.runAndReadAll(`DESCRIBE ${query}`, usedValues(query, values));
  const got = r.getRowObjectsJson().map((x) => x.column_type);
  names.forEach((name, i) => {
    const f = t.fields.find((x) => x.name.toLowerCase() === name.toLowerCase());
    const src = got[i] || '';
    if (!f) throw refusal('invalidQuery', `Column ${name} is not present in table ${ref.table}`);
    const bad =
      (f.type === 'TIMESTAMP' && src === 'TIMESTAMP') ? 'DATETIME'
        : (f.type === 'DATETIME' && src === 'TIMESTAMP WITH TIME ZONE') ? 'TIMESTAMP'
          : (/^(NUMERIC|BIGNUMERIC|INT64|INTEGER)$/.test(f.type) && /^(DOUBLE|FLOAT)$/.test(src)) ? 'FLOAT64'
            : (/^(INT64|INTEGER)$/.test(f.type) && /^DECIMAL/.test(src)) ? 'NUMERIC'
              : (f.type === 'STRING' && /^(BIGINT|INTEGER|HUGEINT|DOUBLE|DECIMAL|DATE|TIMESTAMP|BOOLEAN)/.test(src)) ? src
                : null;
    if (bad) {
      throw refusal('invalidQuery', `Query column ${i + 1} has type ${bad} which cannot be ` +
                    `inserted into column ${f.name}, which has type ${f.type}`);
    }
  });
}

async function count(table) {
  const r = await conn.runAndReadAll(`SELECT count(*) AS n FROM ${table}`);
  return Number(r.getRowObjectsJson()[0].n);
}

// The partitions of the main table a statement reads: the distinct partition values of the
// rows its filter keeps, measured by running the statement's own WHERE on the partition column.
async function partitionsRead(sql, translated, values) {
  const m = /\bMERGE\s+`[^`.]+\.([^`.]+)\.([^`.]+)`/i.exec(sql);
  if (!m) return null;
  const t = tables.get(`${m[1]}.${m[2]}`);
  if (!t || !t.partition) return null;
  const on = /\bON\s+([\s\S]*?)\s+WHEN\b/i.exec(translated);
  // the ON's conjuncts (x BETWEEN a AND b is one), those on the target alone being its filter
  const conjuncts = [];
  for (const c of on ? on[1].split(/\s+AND\s+/i) : []) {
    const last = conjuncts.length - 1;
    if (last >= 0 && /\bBETWEEN\b/i.test(conjuncts[last]) &&
        !/\bBETWEEN\b[\s\S]*\bAND\b/i.test(conjuncts[last])) {
      conjuncts[last] += ` AND ${c}`;
    } else {
      conjuncts.push(c);
    }
  }
  const prune = conjuncts.filter((c) => /^T\./.test(c.trim()) && !/=\s*S\./.test(c));
  const where = prune.length ? `WHERE ${prune.join(' AND ')}` : '';
  const used = {}; // DuckDB refuses a value for a parameter the statement does not name
  for (const [name, v] of Object.entries(values)) {
    if (where.includes(`$${name}`)) used[name] = v;
  }
  const r = await conn.runAndReadAll(
    `SELECT DISTINCT CAST(T.${quoteId(t.partition)} AS VARCHAR) AS p FROM ` +
    `${quoteId(m[1])}.${quoteId(m[2])} AS T ${where} ORDER BY p`, used);
  return r.getRowObjectsJson().map((x) => x.p);
}

// A statement with a defaultDataset names that dataset's tables unqualified, as BigQuery
// allows: DuckDB's search_path is that dataset while it runs.
async function runQuery(body) {
  const dataset = body.defaultDataset && body.defaultDataset.datasetId;
  const statements = splitStatements(body.query || '');
  const script = statements.length > 1 ||
    /^(DECLARE|BEGIN|COMMIT|ROLLBACK|CREATE|SET)\b/i.test(statements[0] || '');
  const run = () => (script ? runScript(statements, body, !!dataset)
    : runStatement(dict(body, statements[0] || ''), !!dataset));
  if (!dataset) return run();
  await conn.run(`SET search_path = '${quoteId(dataset).slice(1, -1)}'`);
  try {
    return await run();
  } finally {
    await conn.run('RESET search_path');
  }
}

async function runStatement(body, unqualifiedOk) {
  const sql = body.query || '';
  const params = body.queryParameters || [];
  refuseLikeBigQuery(sql, params, unqualifiedOk);
  const translated = translate(sql, params);
  const values = usedValues(translated, valuesOf(params));
  const kind = (/^\s*(\w+)/.exec(sql) || [, ''])[1].toUpperCase();
  const target = /^\s*(?:MERGE(?:\s+INTO)?|INSERT(?:\s+INTO)?|UPDATE|DELETE(?:\s+FROM)?)\s+(`[^`]+`|[A-Za-z_][\w.]*)/i.exec(sql);
  const targetSql = target ? translate(target[1].startsWith('`') ? target[1]
    : `\`${target[1]}\``, []) : null;
  if (kind === 'INSERT') {
    await refuseInsertTypes(sql, translated, values,
                            body.defaultDataset && body.defaultDataset.datasetId);
  }
  if (body.dryRun) { // planned, not run: DuckDB binds the statement and explains it
    await conn.runAndReadAll(`EXPLAIN ${translated}`, values);
    return {statementType: kind === 'WITH' ? 'SELECT' : kind, dryRun: true};
  }
  const read = await partitionsRead(sql, translated, values);
  const before = targetSql ? await count(targetSql) : 0;
  let reader;
  try {
    reader = await conn.runAndReadAll(translated, values);
  } catch (e) {
    throw refusal('invalidQuery', e.message);
  }
  const out = {statementType: kind === 'WITH' ? 'SELECT' : kind};
  if (targetSql) {
    const after = await count(targetSql);
    const changed = Number(reader.rowsChanged || 0);
    const inserted = kind === 'DELETE' ? 0 : Math.max(after - before, 0);
    const deleted = kind === 'DELETE' ? changed : 0;
    out.dmlStats = {inserted, updated: kind === 'DELETE' ? 0 : changed - inserted, deleted};
  } else {
    out.schema = reader.columnNames();
    out.rows = reader.getRowsJson().map((r) => r.map((v) => (v === null ? null : String(v))));
  }
  if (read) out.partitionsRead = read;
  return out;
}

async function dump() {
  const out = {tables: {}};
  for (const [key, t] of tables) {
    const [d, name] = key.split('.');
    const cols = t.fields.map((f) => f.name);
    const text = (f) => (f.type === 'TIMESTAMP' ? `strftime(${quoteId(f.name)}, '%Y-%m-%d %H:%M:%S.%f')`
      : f.type === 'DATETIME' ? `strftime(${quoteId(f.name)}, '%Y-%m-%d %H:%M:%S')`
        : `CAST(${quoteId(f.name)} AS VARCHAR)`);
    const r = await conn.runAndReadAll(
      `SELECT ${t.fields.map(text).join(', ')} FROM ${quoteId(d)}.${quoteId(name)} ORDER BY ALL`);
    out.tables[key] = {columns: cols, rows: r.getRowsJson()};
  }
  fs.writeFileSync(dumpPath, JSON.stringify(out));
}

function reply(res, status, obj) {
  const data = JSON.stringify(obj);
  res.writeHead(status, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data)});
  res.end(data);
}

let queue = Promise.resolve(); // one statement at a time, in arrival order

async function handle(req, body) {
  const parsed = JSON.parse(body || '{}');
  if (req.url === '/tables') return [await createTable(parsed), {}];
  if (req.url === '/rows') return [200, {inserted: await insertRows(parsed)}];
  if (req.url === '/query') return [200, await runQuery(parsed)];
  return [404, {reason: 'notFound', message: `no route ${req.url}`}];
}

async function main() {
  const {DuckDBInstance} = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
  await conn.run("SET TimeZone = 'UTC'");
  for (const m of MACROS) await conn.run(m);
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      queue = queue.then(() => handle(req, Buffer.concat(chunks).toString('utf8')))
        .then(([status, obj]) => reply(res, status, obj))
        .catch((e) => reply(res, 400, {reason: e.reason || 'invalidQuery', message: e.message}));
    });
  });
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`port=${server.address().port}\n`);
  });
  process.stdin.on('data', () => {});
  process.stdin.on('end', () => {
    queue.then(dump).finally(() => process.exit(0));
  });
}

main().catch((e) => {
  process.stderr.write(`bigquery_sql_engine: ${e.stack || e}\n`);
  process.exit(1);
});
