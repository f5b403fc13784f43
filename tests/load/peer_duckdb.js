// peer_duckdb.js FEED DB MODE ERRORS - the peer of `bizoope run` in tests/load/peer.sh: DuckDB
// (npm @duckdb/node-api, installed by scripts/setup.sh --tests into tests/fakes) doing the same
// job on the same generated journal in its own SQL, timed here from the first statement to the
// last, into a database file DB:
//   1. a strict typed read of the TSV (no quoting, exact column count, dates and datetimes in
//      the feed's layouts, decimals, integers) that keeps the lines it cannot read as rejects;
//   2. the checks the reader accepts loosely: required columns present, string lengths in
//      characters, no control characters, bool 0/1, scales of the decimals;
//   3. keep-newest dedup per key (newest output_at, ties: the later line);
//   4. MODE keyed: MERGE into a table with the key as its PRIMARY KEY (a row with an older
//      output_at never overwrites a newer one); unkeyed: the same MERGE into a table without
//      the key constraint;
//   5. the rejected lines with their line numbers and reasons to ERRORS.
// Prints one JSON line: {"seconds", "read", "rejected_by_reader", "rejected_by_checks",
// "loaded", "rows"}.
'use strict';

const path = require('path');
const { DuckDBInstance } = require(path.join(__dirname, '..', 'fakes', 'node_modules',
                                             '@duckdb', 'node-api'));

const [feed, dbPath, mode, errorsPath] = process.argv.slice(2);
if (!feed || !dbPath || !['keyed', 'unkeyed'].includes(mode) || !errorsPath) {
    console.error('usage: peer_duckdb.js FEED DB keyed|unkeyed ERRORS');
    process.exit(2);
}

// The journal's columns (schema/tables/journal.yaml) as DuckDB reads them.
const columns = [
    ['store_code', 'VARCHAR', 10, true], ['business_date', 'DATE', 0, true],
    ['register_no', 'BIGINT', 0, true], ['receipt_no', 'BIGINT', 0, true],
    ['line_no', 'BIGINT', 0, true], ['sold_at', 'TIMESTAMP', 0, true],
    ['member_id', 'VARCHAR', 20, false], ['item_code', 'VARCHAR', 20, true],
    ['item_name', 'VARCHAR', 60, false], ['category_code', 'VARCHAR', 10, false],
    ['quantity', 'BIGINT', 0, true], ['unit_price', 'DECIMAL(12,2)', 0, true],
    ['amount', 'DECIMAL(14,2)', 0, true], ['discount', 'DECIMAL(14,2)', 0, false],
    ['tax', 'DECIMAL(14,2)', 0, true], ['tax_rate', 'DECIMAL(4,2)', 0, true],
    ['payment_type', 'VARCHAR', 2, false], ['staff_code', 'VARCHAR', 10, false],
    ['is_deleted', 'TINYINT', 0, true], ['output_at', 'TIMESTAMP', 0, true],
];
const key = ['store_code', 'business_date', 'register_no', 'receipt_no', 'line_no'];
const q = (s) => "'" + s.replace(/'/g, "''") + "'";

function checks() {
    const c = [];
    for (const [name, type, len, required] of columns) {
        if (required) c.push(`${name} IS NOT NULL`);
        if (type === 'VARCHAR') {
            c.push(`(${name} IS NULL OR (length(${name}) <= ${len} AND ` +
                   `NOT regexp_matches(${name}, '[\\x00-\\x1f\\x7f]')))`);
        }
    }
    c.push('is_deleted IN (0, 1)');
    return c.join(' AND ');
}

async function main() {
    const instance = await DuckDBInstance.create(dbPath, { threads: '2' });
    const db = await instance.connect();
    const cols = columns.map(([n, t]) => `${q(n)}: ${q(t)}`).join(', ');
    const names = columns.map(([n]) => n).join(', ');
    const t0 = process.hrtime.bigint();
    // 1. strict typed read, rejects kept (reject_errors / reject_scans)
    await db.run(`CREATE TEMP TABLE lines AS
        SELECT row_number() OVER () AS line, * FROM read_csv(${q(feed)},
            delim = '\\t', quote = '', escape = '', header = false, auto_detect = false,
            strict_mode = false, null_padding = false, new_line = '\\n', columns = {${cols}},
            dateformat = '%Y%m%d', timestampformat = '%Y%m%d%H%M%S',
            store_rejects = true, rejects_limit = 0, ignore_errors = true)`);
    // 2. what the reader accepts loosely
    await db.run(`CREATE TEMP TABLE valid AS SELECT * FROM lines WHERE ${checks()}`);
    // 3. keep-newest per key
    await db.run(`CREATE TEMP TABLE staged AS SELECT * EXCLUDE (line) FROM valid
        QUALIFY row_number() OVER (PARTITION BY ${key.join(', ')}
                                   ORDER BY output_at DESC, line DESC) = 1`);
    // 4. the merge
    const ddl = columns.map(([n, t, , r]) => `${n} ${t}${r ? ' NOT NULL' : ''}`).join(', ');
    await db.run(`CREATE TABLE IF NOT EXISTS journal (site_id VARCHAR NOT NULL, ${ddl},
        created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL` +
        (mode === 'keyed' ? `, PRIMARY KEY (site_id, ${key.join(', ')}))` : ')'));
    const on = key.map((k) => `t.${k} = s.${k}`).join(' AND ');
    const set = columns.map(([n]) => `${n} = s.${n}`).join(', ');
    await db.run(`MERGE INTO journal t USING (SELECT 'a' AS site_id, * FROM staged) s
        ON t.site_id = s.site_id AND ${on}
        WHEN MATCHED AND s.output_at >= t.output_at THEN UPDATE SET ${set},
            updated_at = current_timestamp
        WHEN NOT MATCHED THEN INSERT (site_id, ${names}, created_at, updated_at)
            VALUES (s.site_id, ${columns.map(([n]) => 's.' + n).join(', ')},
                    current_timestamp, current_timestamp)`);
    // 5. the rejected lines: the reader's, the checks', the dedup's losers
    await db.run(`COPY (
        SELECT line, csv_line AS original, error_message AS reason FROM reject_errors
        UNION ALL SELECT line, NULL, 'failed a check' FROM lines WHERE NOT (${checks()})
        UNION ALL SELECT line, NULL, 'duplicate key' FROM valid
            QUALIFY row_number() OVER (PARTITION BY ${key.join(', ')}
                                       ORDER BY output_at DESC, line DESC) > 1
        ORDER BY line) TO ${q(errorsPath)} (FORMAT csv, DELIMITER '\t', HEADER false)`);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const one = async (sql) => (await (await db.runAndReadAll(sql)).getRows())[0][0];
    const out = {
        seconds,
        read: Number(await one('SELECT count(*) FROM lines')),
        rejected_by_reader: Number(await one('SELECT count(*) FROM reject_errors')),
        rejected_by_checks: Number(await one(`SELECT count(*) FROM lines WHERE NOT (${checks()})`)),
        loaded: Number(await one('SELECT count(*) FROM staged')),
        rows: Number(await one('SELECT count(*) FROM journal')),
    };
    console.log(JSON.stringify(out));
}

main().catch((e) => {
    console.error('peer_duckdb.js:', e.message);
    process.exit(1);
});
