// bigquery_write_fake.js LOG DUMP [SCRIPT] - the BigQuery Storage Write API
// (google.cloud.bigquery.storage.v1.BigQueryWrite) as a real gRPC server (@grpc/grpc-js) on
// 127.0.0.1, speaking HTTP/2 without TLS. It loads Google's own .proto files as shipped in
// @google-cloud/bigquery-storage, so every message bizoope sends is decoded by a real protobuf
// implementation against the real definitions, and it keeps stream state and enforces the
// protocol:
//  - every call needs "authorization: Bearer tok-..." (UNAUTHENTICATED) and the
//    x-goog-request-params routing header naming its resource (INVALID_ARGUMENT);
//  - CreateWriteStream: parent projects/P/datasets/D/tables/T, type PENDING;
//  - AppendRows: the first request of a call names the stream and carries writer_schema
//    (else INVALID_ARGUMENT "missing schema"); the stream exists and is not finalized; an
//    offset below the stream's end is ALREADY_EXISTS, above it OUT_OF_RANGE (nothing
//    appended); every row must decode with the writer schema (else INVALID_ARGUMENT with
//    row_errors); a request over 10 MB is refused by the server (RESOURCE_EXHAUSTED);
//  - FinalizeWriteStream: row_count; BatchCommitWriteStreams: every stream finalized and of
//    the parent table, else stream_errors and nothing is committed; a committed stream again
//    is STREAM_ALREADY_COMMITTED; committed rows (decoded) join the table.
// Faults, from SCRIPT (JSON): "expire_token": "tok-1" answers UNAUTHENTICATED to that token
// once; "append": [fault|null, ...] and "commit": [...] apply to the n-th AppendRows /
// BatchCommit call: {"code": 14|8|..., "after": k} ends the call with that status after k
// requests were answered, {"reset": true, "after": k} resets the HTTP/2 stream, {"goaway":
// true, "after": k} sends GOAWAY on the connection; "create_not_found": n answers the first n
// CreateWriteStream calls NOT_FOUND (a new table's metadata not yet at the frontends, as the
// real service does for up to about a minute; "create_denied": n the same with the masked
// PERMISSION_DENIED). Every call is one JSON line in LOG; when
// stdin closes, DUMP gets {"tables": {T: [rows]}, "streams": {...}} and it exits.
// With SCRIPT.engine (the URL of bigquery_sql_engine.js), committed rows are also inserted into
// that engine's table before the commit is answered, so query jobs see them.
// Prints "port=N" once listening.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');
require('protobufjs/ext/descriptor');

const [logPath, dumpPath, scriptText] = process.argv.slice(2);
const script = scriptText ? JSON.parse(scriptText) : {};
const root = path.join(__dirname, 'node_modules', '@google-cloud', 'bigquery-storage', 'build',
                       'protos');
const gax = path.join(__dirname, 'node_modules', 'google-gax', 'build', 'protos');
const def = protoLoader.loadSync('google/cloud/bigquery/storage/v1/storage.proto', {
  includeDirs: [root, gax], keepCase: true, longs: String, enums: Number, defaults: false,
  oneofs: true,
});
const v1 = grpc.loadPackageDefinition(def).google.cloud.bigquery.storage.v1;
const MAX_REQUEST = 10 * 1024 * 1024;

const streams = new Map(); // name -> {table, rows: [Buffer], decoded: [obj], finalized, committed}
const tables = new Map();  // table -> [decoded rows]
const calls = {append: 0, commit: 0, create: 0};
const expired = new Set();
let nextStream = 1;

function log(record) {
  fs.appendFileSync(logPath, JSON.stringify(record) + '\n');
}

function fail(code, details) {
  const e = new Error(details);
  e.code = code;
  e.details = details;
  return e;
}

// Authorization and routing, as the real front end checks them.
function checkCall(call, resourceKey, resource) {
  const auth = String(call.metadata.get('authorization')[0] || '');
  if (!auth.startsWith('Bearer tok-')) {
    return fail(grpc.status.UNAUTHENTICATED, 'Request had invalid authentication credentials.');
  }
  const token = auth.slice('Bearer '.length);
  if (script.expire_token === token && !expired.has(token)) {
    expired.add(token);
    return fail(grpc.status.UNAUTHENTICATED, 'Request had invalid authentication credentials: '
                + 'the access token expired.');
  }
  const routing = String(call.metadata.get('x-goog-request-params')[0] || '');
  const want = resourceKey + '=' + encodeURIComponent(resource);
  if (resource !== undefined && !routing.split('&').includes(want)) {
    return fail(grpc.status.INVALID_ARGUMENT,
                'x-goog-request-params must carry ' + want + ', got "' + routing + '"');
  }
  return null;
}

function rowType(descriptor) {
  const fds = {file: [{name: 'row.proto', syntax: 'proto2', messageType: [descriptor]}]};
  const r = protobuf.Root.fromDescriptor(fds);
  return r.lookupType(descriptor.name);
}

function tableOf(name) {
  const m = /^(projects\/[^/]+\/datasets\/[^/]+\/tables\/[^/]+)\/streams\/[^/]+$/.exec(name);
  return m ? m[1] : null;
}

function createWriteStream(call, cb) {
  const req = call.request;
  const err = checkCall(call, 'parent', req.parent);
  if (err) return log({rpc: 'CreateWriteStream', code: err.code}), cb(err);
  if (!/^projects\/[^/]+\/datasets\/[^/]+\/tables\/[^/]+$/.test(req.parent || '')) {
    return cb(fail(grpc.status.INVALID_ARGUMENT, 'parent must be projects/P/datasets/D/tables/T'));
  }
  if (!req.write_stream || req.write_stream.type !== 2) {
    return cb(fail(grpc.status.INVALID_ARGUMENT, 'this fake makes PENDING streams only'));
  }
  const early = calls.create++;
  if (early < (script.create_not_found || 0) + (script.create_denied || 0)) {
    const code = early < (script.create_not_found || 0) ? grpc.status.NOT_FOUND
                                                        : grpc.status.PERMISSION_DENIED;
    log({rpc: 'CreateWriteStream', code});
    return cb(fail(code, 'Requested entity was not found.'));
  }
  const name = req.parent + '/streams/s' + (nextStream++);
  streams.set(name, {table: req.parent, rows: [], decoded: [], finalized: false,
                     committed: false});
  log({rpc: 'CreateWriteStream', stream: name});
  cb(null, {name, type: 2, create_time: {seconds: String(Math.floor(Date.now() / 1000))}});
}

function appendRows(call) {
  const n = calls.append++;
  const fault = (script.append || [])[n] || null;
  let first = true, stream = null, type = null, answered = 0, ended = false;
  const end = (e) => {
    if (ended) return;
    ended = true;
    log({rpc: 'AppendRows', call: n, stream: stream && stream.name, answered,
         code: e ? e.code : 0});
    if (e) call.emit('error', e); else call.end();
  };
  const applyFault = () => {
    if (!fault || answered < (fault.after || 0)) return false;
    if (fault.reset) {
      log({rpc: 'AppendRows', call: n, fault: 'reset'});
      ended = true;
      call.call.http2Stream ? call.call.http2Stream.close(2)
                            : findStream(call).close(2);  // RST_STREAM INTERNAL_ERROR
      return true;
    }
    if (fault.goaway) {
      log({rpc: 'AppendRows', call: n, fault: 'goaway'});
      ended = true;
      const s = findStream(call);
      s.session.goaway(0);
      s.close(2);
      return true;
    }
    end(fail(fault.code, fault.message || 'injected failure (code ' + fault.code + ')'));
    return true;
  };
  call.on('data', (req) => {
    if (ended) return;
    if (first) {
      first = false;
      const err = checkCall(call, 'write_stream', req.write_stream);
      if (err) return end(err);
      if (!req.write_stream) {
        return end(fail(grpc.status.INVALID_ARGUMENT,
                        'the first AppendRows request must name the write stream'));
      }
      const s = streams.get(req.write_stream);
      if (!s) return end(fail(grpc.status.NOT_FOUND, 'no stream ' + req.write_stream));
      stream = Object.assign(s, {name: req.write_stream});
      const schema = req.proto_rows && req.proto_rows.writer_schema;
      if (!schema || !schema.proto_descriptor) {
        return end(fail(grpc.status.INVALID_ARGUMENT,
                        'missing schema: the first request of a connection needs writer_schema'));
      }
      try {
        type = rowType(schema.proto_descriptor);
      } catch (e) {
        return end(fail(grpc.status.INVALID_ARGUMENT, 'bad writer_schema: ' + e.message));
      }
    }
    if (applyFault()) return;
    if (stream.finalized) {
      return end(fail(grpc.status.INVALID_ARGUMENT, 'stream is finalized: ' + stream.name));
    }
    const rows = (req.proto_rows && req.proto_rows.rows &&
                  req.proto_rows.rows.serialized_rows) || [];
    const offset = req.offset ? Number(req.offset.value || 0) : stream.rows.length;
    answered++;
    if (offset < stream.rows.length) {
      return call.write({error: {code: grpc.status.ALREADY_EXISTS,
                                 message: 'offset ' + offset + ' already exists'},
                         write_stream: stream.name});
    }
    if (offset > stream.rows.length) {
      return call.write({error: {code: grpc.status.OUT_OF_RANGE,
                                 message: 'offset ' + offset + ' beyond the end ' +
                                          stream.rows.length},
                         write_stream: stream.name});
    }
    const decoded = [], rowErrors = [];
    rows.forEach((row, i) => {
      try {
        decoded.push(type.toObject(type.decode(row), {longs: String, defaults: false}));
      } catch (e) {
        rowErrors.push({index: String(i), code: 1, message: e.message});
      }
    });
    if (rowErrors.length) {
      return call.write({error: {code: grpc.status.INVALID_ARGUMENT, message: 'rows do not decode'},
                         row_errors: rowErrors});
    }
    rows.forEach((r) => stream.rows.push(r));
    decoded.forEach((r) => stream.decoded.push(r));
    call.write({append_result: {offset: {value: String(offset)}}, write_stream: stream.name});
  });
  call.on('end', () => end(null));
  call.on('error', () => { ended = true; });
}

// The HTTP/2 stream under a grpc-js call (internal, for the reset and GOAWAY faults).
function findStream(call) {
  for (const k of Object.keys(call.call || {})) {
    const v = call.call[k];
    if (v && typeof v.close === 'function' && v.session) return v;
  }
  const inner = call.call && (call.call.nextCall || call.call.call);
  for (const obj of [inner, inner && inner.stream, call.call && call.call.stream]) {
    if (obj && typeof obj.close === 'function' && obj.session) return obj;
    if (obj) {
      for (const k of Object.keys(obj)) {
        const v = obj[k];
        if (v && typeof v.close === 'function' && v.session) return v;
      }
    }
  }
  throw new Error('no http2 stream found under the call');
}

function finalizeWriteStream(call, cb) {
  const err = checkCall(call, 'name', call.request.name);
  if (err) return cb(err);
  const s = streams.get(call.request.name);
  if (!s) return cb(fail(grpc.status.NOT_FOUND, 'no stream ' + call.request.name));
  s.finalized = true;
  log({rpc: 'FinalizeWriteStream', stream: call.request.name, row_count: s.rows.length});
  cb(null, {row_count: String(s.rows.length)});
}

function batchCommitWriteStreams(call, cb) {
  const n = calls.commit++;
  const fault = (script.commit || [])[n] || null;
  const req = call.request;
  const err = checkCall(call, 'parent', req.parent);
  if (err) return cb(err);
  if (fault) return log({rpc: 'BatchCommitWriteStreams', fault: fault.code}),
                    cb(fail(fault.code, 'injected failure'));
  const errors = [];
  for (const name of req.write_streams || []) {
    const s = streams.get(name);
    if (!s || tableOf(name) !== req.parent) {
      errors.push({code: 3, entity: name, error_message: 'stream not found in ' + req.parent});
    } else if (s.committed) {
      errors.push({code: 2, entity: name, error_message: 'stream already committed'});
    } else if (!s.finalized) {
      errors.push({code: 5, entity: name, error_message: 'stream is not finalized'});
    }
  }
  if (errors.length) {
    log({rpc: 'BatchCommitWriteStreams', errors});
    return cb(null, {stream_errors: errors});
  }
  const rows = tables.get(req.parent) || [];
  const added = [];
  for (const name of req.write_streams) {
    const s = streams.get(name);
    s.committed = true;
    s.decoded.forEach((r) => { rows.push(r); added.push(r); });
  }
  tables.set(req.parent, rows);
  log({rpc: 'BatchCommitWriteStreams', streams: req.write_streams.length, rows: rows.length});
  const done = () => cb(null, {commit_time: {seconds: String(Math.floor(Date.now() / 1000))}});
  if (!script.engine) return done();
  // the committed rows join the table in the SQL engine before the commit is answered
  toEngine('/rows', {table: req.parent, rows: added}, (status, answer) => {
    if (status !== 200) return cb(fail(grpc.status.INTERNAL, 'engine: ' + answer.message));
    done();
  });
}

// POSTs body to the SQL engine (bigquery_sql_engine.js at script.engine); cb(status, answer).
function toEngine(route, body, cb) {
  const data = Buffer.from(JSON.stringify(body));
  const req = http.request(script.engine + route, {method: 'POST',
    headers: {'Content-Type': 'application/json', 'Content-Length': data.length}}, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => cb(res.statusCode, JSON.parse(Buffer.concat(chunks).toString() || '{}')));
  });
  req.on('error', (e) => cb(599, {message: e.message}));
  req.end(data);
}

function getWriteStream(call, cb) {
  const s = streams.get(call.request.name);
  if (!s) return cb(fail(grpc.status.NOT_FOUND, 'no stream ' + call.request.name));
  cb(null, {name: call.request.name, type: 2});
}

const server = new grpc.Server({'grpc.max_receive_message_length': MAX_REQUEST});
server.addService(v1.BigQueryWrite.service, {
  CreateWriteStream: createWriteStream, AppendRows: appendRows,
  FinalizeWriteStream: finalizeWriteStream, BatchCommitWriteStreams: batchCommitWriteStreams,
  GetWriteStream: getWriteStream,
  FlushRows: (call, cb) => cb(fail(grpc.status.UNIMPLEMENTED, 'BUFFERED streams are not used')),
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write('port=' + port + '\n');
});
process.stdin.resume();
process.stdin.on('end', () => {
  const out = {tables: {}, streams: {}};
  for (const [t, rows] of tables) out.tables[t] = rows;
  for (const [name, s] of streams) {
    out.streams[name] = {rows: s.rows.length, finalized: s.finalized, committed: s.committed};
  }
  fs.writeFileSync(dumpPath, JSON.stringify(out));
  server.forceShutdown();
  process.exit(0);
});
