#!/usr/bin/env node
/*
 * check_terraform.js SRC_DIR - offline checks of the Google Cloud infrastructure code in
 * SRC_DIR/deploy/terraform (Terraform itself cannot be installed here: no registry but Debian's
 * and npm's is reachable). Every .tf file, and environments/example/terraform.tfvars.example, is
 * parsed with HashiCorp's own HCL parser compiled to WebAssembly (@cdktf/hcl2json, pinned in
 * tests/fakes/package-lock.json and loaded from SRC_DIR/tests/fakes/node_modules), and these
 * properties are asserted on the parsed configuration:
 *
 *   (0) layout: the nine modules and the example environment exist, every .tf file starts
 *       with a comment saying what it owns, and every file()/templatefile() path exists;
 *   (1) every variable of every module and of the environment has a type and a description;
 *   (2) every site of terraform.tfvars.example (at least two, valid bucket-name parts) gets the
 *       per-site resources: the environment instantiates modules/site with for_each over
 *       var.sites, and modules/site defines the interface bucket, the site's service account,
 *       its two grants on that bucket (objectCreator; objectViewer limited to errors/ by an IAM
 *       condition) and the new-object notification;
 *   (3) no site's service account gets anything on another site's bucket or on a shared
 *       bucket: in modules/site every IAM member naming the site's account is a bucket-level
 *       grant on the module's own bucket; no other module, and no other module call of the
 *       environment, refers to a site's account;
 *   (4) no google_service_account_key anywhere (partners' keys are made out of band);
 *   (5) every bucket has uniform bucket-level access and public access prevention enforced;
 *   (6) the interface bucket carries the site_id label (bizoope names the site by it);
 *   (7) the workers' autoscaler scales on exactly the metric the metrics module exports, which
 *       is what the Ops Agent makes of the gauge the coordinator exports
 *       (coordinator/activity.c), scraped under the job the autoscaler's filter selects;
 *   (8) health checks request /healthz, and each module with one lets Google's checkers in;
 *  (11) logs kept beyond Cloud Logging's 30 days: modules/logs routes the bizoope units'
 *       entries (a filter naming them) through a log sink to its own dataset, in partitioned
 *       tables, with a unique writer identity that gets dataEditor on that dataset alone, the
 *       dataset's partitions expiring after a retention the environment sets;
 *   (9) wiring: module arguments are variables of the called module, required variables are
 *       all passed, module.X.Y / var.X / local.X references resolve, and the tfvars example
 *       sets only variables that exist and every required one.
 *
 * Then it proves the checks can fail: it copies deploy/ into a temporary directory once per
 * bad fixture (a variable without description, a service-account key, a cross-site grant, a
 * site's account on a shared bucket, a bucket without public access prevention, a missing
 * site_id label, a drifted autoscaler metric, one site only, no for_each, ...), runs the checks
 * there, and requires each to be refused by the check it breaks and by no other.
 *
 * Exit status 0 when everything holds, 1 with the failures listed otherwise.
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const SRC = path.resolve(process.argv[2] || path.join(__dirname, '..', '..'));
const HCL_DIR = path.join(SRC, 'tests', 'fakes', 'node_modules', '@cdktf', 'hcl2json');
const hcl = require(HCL_DIR);
const HCL_VERSION = JSON.parse(fs.readFileSync(path.join(HCL_DIR, 'package.json'), 'utf8')).version;

const MODULES = ['site', 'storage', 'bigquery', 'kafka', 'workers', 'coordinator', 'secrets', 'metrics', 'logs'];
const ENV = 'environments/example';
const TFVARS = 'terraform.tfvars.example';
const SITE_ID_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const HEALTH_CHECK_RANGES = ['35.191.0.0/16', '130.211.0.0/22'];
const IAM_TYPE_RE = /_iam_(member|binding|policy)$/;
const META_ARGS = new Set(['source', 'for_each', 'count', 'depends_on', 'providers', 'version']);

// ---- loading --------------------------------------------------------------------------------

const parseCache = new Map(); // file content -> parsed JSON (fixture copies are mostly unchanged)

async function parseFile(file) {
  const text = fs.readFileSync(file, 'utf8');
  const key = path.extname(file) + '\0' + text;
  if (!parseCache.has(key)) {
    try {
      parseCache.set(key, await hcl.parse(path.basename(file), text));
    } catch (e) {
      throw new Error(`${file}: HCL does not parse: ${String(e.message || e).replace(/\s+/g, ' ')}`);
    }
  }
  return { text, json: parseCache.get(key) };
}

// Merges the files of one directory into one configuration: blocks by type and name.
function emptyConfig(dir, label) {
  return { dir, label, files: {}, variable: {}, output: {}, module: {}, resource: {}, data: {}, locals: {} };
}

function mergeInto(cfg, file, json) {
  for (const kind of ['variable', 'output', 'module']) {
    for (const [name, blocks] of Object.entries(json[kind] || {})) {
      cfg[kind][name] = Object.assign({ _file: file }, blocks[0]);
    }
  }
  for (const kind of ['resource', 'data']) {
    for (const [type, byName] of Object.entries(json[kind] || {})) {
      cfg[kind][type] = cfg[kind][type] || {};
      for (const [name, blocks] of Object.entries(byName)) {
        cfg[kind][type][name] = Object.assign({ _file: file }, blocks[0]);
      }
    }
  }
  for (const block of json.locals || []) {
    Object.assign(cfg.locals, block);
  }
}

async function loadDir(dir, label) {
  const cfg = emptyConfig(dir, label);
  if (!fs.existsSync(dir)) {
    return cfg;
  }
  for (const name of fs.readdirSync(dir).sort()) {
    if (name.endsWith('.tf')) {
      const file = path.join(dir, name);
      const { text, json } = await parseFile(file);
      cfg.files[name] = { text, json };
      mergeInto(cfg, name, json);
    }
  }
  return cfg;
}

async function loadTree(tfRoot) {
  const tree = { root: tfRoot, modules: {}, env: null, tfvars: null };
  for (const m of MODULES) {
    tree.modules[m] = await loadDir(path.join(tfRoot, 'modules', m), `modules/${m}`);
  }
  tree.env = await loadDir(path.join(tfRoot, ENV), ENV);
  const tfvarsFile = path.join(tfRoot, ENV, TFVARS);
  tree.tfvars = fs.existsSync(tfvarsFile) ? (await parseFile(tfvarsFile)).json : null;
  return tree;
}

// ---- helpers --------------------------------------------------------------------------------

function places(tree) {
  return [...MODULES.map((m) => tree.modules[m]), tree.env];
}

function resourcesOf(cfg, kind = 'resource') {
  const out = [];
  for (const [type, byName] of Object.entries(cfg[kind])) {
    for (const [name, body] of Object.entries(byName)) {
      out.push({ type, name, body, addr: `${type}.${name}` });
    }
  }
  return out;
}

// Calls fn(string, key) for every string under v, skipping prose (descriptions, messages).
function eachString(v, fn, key = '') {
  if (typeof v === 'string') {
    if (key !== 'description' && key !== 'error_message' && key !== '_file') {
      fn(v, key);
    }
  } else if (Array.isArray(v)) {
    v.forEach((x) => eachString(x, fn, key));
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      eachString(x, fn, k);
    }
  }
}

function allText(v) {
  const parts = [];
  eachString(v, (s) => parts.push(s));
  return parts.join('\n');
}

function first(v) {
  return Array.isArray(v) ? v[0] : v;
}

// "${local.x}" and "a${local.x}b" with string-valued locals, resolved recursively.
function resolveLocals(s, locals, depth = 0) {
  if (typeof s !== 'string' || depth > 10) {
    return s;
  }
  return s.replace(/\$\{local\.([A-Za-z0-9_]+)\}/g, (m, name) => {
    const v = locals[name];
    return typeof v === 'string' ? resolveLocals(v, locals, depth + 1) : m;
  });
}

// The "X" of "${var.X}", or null.
function varName(s) {
  const m = /^\$\{var\.([A-Za-z0-9_]+)\}$/.exec(s || '');
  return m ? m[1] : null;
}

// ---- the checks -----------------------------------------------------------------------------
// Each returns a one-line summary of what it checked and pushes failures into `fail`.

function checkLayout(tree, fail) {
  let files = 0;
  let paths = 0;
  for (const cfg of places(tree)) {
    if (Object.keys(cfg.files).length === 0) {
      fail(`${cfg.label}: no .tf files`);
      continue;
    }
    for (const [name, { text, json }] of Object.entries(cfg.files)) {
      files++;
      if (!/^\s*(#|\/\/|\/\*)/.test(text)) {
        fail(`${cfg.label}/${name}: does not start with a comment saying what it owns`);
      }
      eachString(json, (s) => {
        for (const m of s.matchAll(/\b(templatefile|file)\("([^"]+)"/g)) {
          const rel = resolveLocals(m[2], cfg.locals).replace('${path.module}', cfg.dir);
          paths++;
          if (rel.includes('${')) {
            fail(`${cfg.label}/${name}: cannot resolve the path ${m[2]}`);
          } else if (!fs.existsSync(rel)) {
            fail(`${cfg.label}/${name}: ${m[1]}() names ${path.relative(tree.root, rel)}, which does not exist`);
          }
        }
      });
    }
  }
  return `the ${MODULES.length} modules and ${ENV}: ${files} .tf files, each opening with a comment; ${paths} file()/templatefile() paths exist`;
}

function checkVariables(tree, fail) {
  let n = 0;
  for (const cfg of places(tree)) {
    for (const [name, v] of Object.entries(cfg.variable)) {
      n++;
      if (typeof v.type !== 'string' || v.type.replace(/[${}\s]/g, '') === '') {
        fail(`${cfg.label}: variable "${name}" has no type`);
      }
      if (typeof v.description !== 'string' || v.description.trim() === '') {
        fail(`${cfg.label}: variable "${name}" has no description`);
      }
    }
  }
  return `${n} variables in ${places(tree).length} places, each with a type and a description`;
}

// The site module's own bucket, its service account(s), and its IAM resources.
function siteModuleParts(site) {
  const buckets = resourcesOf(site).filter((r) => r.type === 'google_storage_bucket');
  const accounts = resourcesOf(site).filter((r) => r.type === 'google_service_account');
  const iam = resourcesOf(site).filter((r) => IAM_TYPE_RE.test(r.type));
  const namesSiteSa = (r) =>
    accounts.some((a) => allText(r.body).includes(`google_service_account.${a.name}.`));
  const onOwnBucket = (r) =>
    r.type === 'google_storage_bucket_iam_member' &&
    buckets.length === 1 &&
    r.body.bucket === `\${google_storage_bucket.${buckets[0].name}.name}`;
  return { buckets, accounts, iam, namesSiteSa, onOwnBucket };
}

function checkSites(tree, fail) {
  const env = tree.env;
  const site = tree.modules.site;
  const call = env.module.site;
  if (!call) {
    fail(`${ENV}: no module "site"`);
    return 'no site module call';
  }
  if (call.source !== '../../modules/site') {
    fail(`${ENV}: module "site" has source ${call.source}, not ../../modules/site`);
  }
  if (typeof call.for_each !== 'string' || !/\bvar\.sites\b/.test(call.for_each)) {
    fail(`${ENV}: module "site" is not instantiated with for_each over var.sites (one instance per site)`);
  }
  if (!/^\$\{each\.(key|value)\}$/.test(call.site_id || '')) {
    fail(`${ENV}: module "site" does not pass site_id = each.key`);
  }
  const sitesVar = env.variable.sites;
  if (!sitesVar || !/^\$\{(list|set)\(string\)\}$/.test(sitesVar.type || '')) {
    fail(`${ENV}: variable "sites" is not a list(string)`);
  } else if (!allText(sitesVar.validation || []).includes('regex(')) {
    fail(`${ENV}: variable "sites" has no validation of the ids (lowercase, digits, hyphens)`);
  }
  if (!site.variable.site_id || !allText(site.variable.site_id.validation || []).includes('regex(')) {
    fail('modules/site: variable "site_id" has no validation of the id for bucket names');
  }

  // what one instance of modules/site creates
  const p = siteModuleParts(site);
  if (p.buckets.length !== 1) {
    fail(`modules/site: ${p.buckets.length} google_storage_bucket resources, not 1 interface bucket`);
  }
  if (p.accounts.length !== 1) {
    fail(`modules/site: ${p.accounts.length} google_service_account resources, not 1 site account`);
  }
  const grants = p.iam.filter((r) => p.namesSiteSa(r) && p.onOwnBucket(r));
  const roles = grants.map((r) => r.body.role).sort();
  if (grants.length !== 2 || roles[0] !== 'roles/storage.objectCreator' || roles[1] !== 'roles/storage.objectViewer') {
    fail(`modules/site: the site's grants on its bucket are [${roles.join(', ')}], not objectCreator + objectViewer`);
  }
  const viewer = grants.find((r) => r.body.role === 'roles/storage.objectViewer');
  if (viewer) {
    const expr = (first(viewer.body.condition) || {}).expression || '';
    const own = `projects/_/buckets/\${google_storage_bucket.${p.buckets[0].name}.name}/objects/`;
    if (!expr.startsWith('resource.name.startsWith(') || !expr.includes(own)) {
      fail(`modules/site: ${viewer.addr} is not limited by a condition resource.name.startsWith("${own}<errors_prefix>")`);
    }
  }
  const coordinator = p.iam.filter((r) => p.onOwnBucket(r) && allText(r.body.member).includes('var.coordinator_sa_email'));
  const notes = resourcesOf(site).filter((r) => r.type === 'google_storage_notification');
  if (notes.length !== 1) {
    fail(`modules/site: ${notes.length} google_storage_notification resources, not 1`);
  } else {
    const n = notes[0].body;
    if (p.buckets[0] && n.bucket !== `\${google_storage_bucket.${p.buckets[0].name}.name}`) {
      fail(`modules/site: ${notes[0].addr} is not on the site's bucket`);
    }
    if (!(n.event_types || []).includes('OBJECT_FINALIZE') || n.payload_format !== 'JSON_API_V1') {
      fail(`modules/site: ${notes[0].addr} is not OBJECT_FINALIZE with JSON_API_V1 payloads`);
    }
  }

  // the example's sites, each through the for_each
  const sites = (tree.tfvars || {}).sites;
  if (!Array.isArray(sites)) {
    fail(`${ENV}/${TFVARS}: no sites list`);
    return 'no sites';
  }
  if (sites.length < 2) {
    fail(`${ENV}/${TFVARS}: ${sites.length} site(s); the example shows at least 2`);
  }
  const prefix = tree.tfvars.bucket_prefix || tree.tfvars.project_id || 'PROJECT';
  const bucketExpr = p.buckets[0] ? resolveLocals(p.buckets[0].body.name, site.locals) : '';
  const names = new Set();
  let perSite = 0;
  for (const s of sites) {
    if (typeof s !== 'string' || !SITE_ID_RE.test(s)) {
      fail(`${ENV}/${TFVARS}: site id ${JSON.stringify(s)} is not lowercase letters, digits and hyphens`);
      continue;
    }
    const bucket = bucketExpr.replace('${var.bucket_prefix}', prefix).replace('${var.site_id}', s);
    if (bucket.includes('${') || bucket.length > 63 || names.has(bucket)) {
      fail(`${ENV}/${TFVARS}: site ${s} would get bucket "${bucket}" (unresolved, longer than 63 or taken)`);
    }
    names.add(bucket);
    perSite = p.buckets.length + p.accounts.length + grants.length + coordinator.length + notes.length;
  }
  return (
    `${sites.length} sites in ${TFVARS} (${sites.join(', ')}), module.site[each] creates for each: ` +
    `${p.buckets.length} bucket (gs://${[...names][0] || '?'}, ...), ${p.accounts.length} service account, ` +
    `${grants.length} own-bucket grants, ${coordinator.length} coordinator grants, ${notes.length} notification ` +
    `(${perSite * sites.length} resources in all)`
  );
}

function checkIamIsolation(tree, fail) {
  const site = tree.modules.site;
  const p = siteModuleParts(site);
  let siteGrants = 0;
  for (const r of p.iam) {
    if (p.namesSiteSa(r)) {
      siteGrants++;
      if (!p.onOwnBucket(r)) {
        const where = r.type === 'google_storage_bucket_iam_member' ? `bucket = ${r.body.bucket}` : `a ${r.type}`;
        fail(`modules/site: ${r.addr} grants the site's account ${r.body.role} somewhere other than its own bucket (${where})`);
      }
    }
  }
  const siteSaRe = /google_service_account\.site\b|module\.site\b|var\.site_(sa|service_account)|site_(sa|service_account)_email/;
  let others = 0;
  for (const m of MODULES.filter((x) => x !== 'site')) {
    const cfg = tree.modules[m];
    for (const r of resourcesOf(cfg)) {
      if (IAM_TYPE_RE.test(r.type)) {
        others++;
        if (siteSaRe.test(allText(r.body.member || r.body.members || ''))) {
          fail(`${cfg.label}: ${r.addr} grants ${r.body.role} to a site's service account (sites get grants on their own bucket only, in modules/site)`);
        }
      }
      if (r.type === 'google_service_account' && /site/.test(r.name)) {
        fail(`${cfg.label}: ${r.addr} - site accounts belong in modules/site`);
      }
    }
  }
  for (const [name, call] of Object.entries(tree.env.module)) {
    if (name === 'site') {
      continue;
    }
    eachString(call, (s, key) => {
      if (/module\.site\b/.test(s) && /service_account/.test(s)) {
        fail(`${ENV}: module "${name}" gets a site's service account (${key} = ${s})`);
      }
    });
  }
  for (const r of resourcesOf(tree.env)) {
    if (IAM_TYPE_RE.test(r.type) && siteSaRe.test(allText(r.body.member || r.body.members || ''))) {
      fail(`${ENV}: ${r.addr} grants a site's service account something`);
    }
  }
  return `modules/site: ${siteGrants} IAM members name the site's account, all on its own bucket; ${others} IAM resources elsewhere, none for a site's account`;
}

function checkNoKeys(tree, fail) {
  let n = 0;
  for (const cfg of places(tree)) {
    for (const kind of ['resource', 'data']) {
      for (const r of resourcesOf(cfg, kind)) {
        n++;
        if (r.type === 'google_service_account_key') {
          fail(`${cfg.label}: ${kind} ${r.addr} - keys are created out of band, never in Terraform (state)`);
        }
      }
    }
  }
  return `no google_service_account_key among ${n} resources and data sources`;
}

function checkBuckets(tree, fail) {
  let n = 0;
  for (const cfg of places(tree)) {
    for (const r of resourcesOf(cfg).filter((x) => x.type === 'google_storage_bucket')) {
      n++;
      if (r.body.uniform_bucket_level_access !== true) {
        fail(`${cfg.label}: ${r.addr} does not set uniform_bucket_level_access = true`);
      }
      if (r.body.public_access_prevention !== 'enforced') {
        fail(`${cfg.label}: ${r.addr} does not set public_access_prevention = "enforced"`);
      }
    }
  }
  return `${n} buckets, each with uniform bucket-level access and public access prevention enforced`;
}

function checkSiteLabel(tree, fail) {
  const p = siteModuleParts(tree.modules.site);
  if (p.buckets.length === 0) {
    fail('modules/site: no interface bucket');
    return 'no interface bucket';
  }
  const labels = p.buckets[0].body.labels;
  const ok =
    (labels && typeof labels === 'object' && labels.site_id === '${var.site_id}') ||
    // merge(..., { site_id = var.site_id }) with the site's label last, so it wins
    (typeof labels === 'string' && /\{\s*site_id\s*=\s*var\.site_id\s*\}\s*\)\}$/.test(labels));
  if (!ok) {
    fail(`modules/site: ${p.buckets[0].addr} labels (${JSON.stringify(labels)}) do not end with site_id = var.site_id`);
  }
  return `${p.buckets[0].addr} is labelled site_id = var.site_id`;
}

function checkAutoscalerMetric(tree, fail) {
  const workers = tree.modules.workers;
  const metrics = tree.modules.metrics;
  const scalers = resourcesOf(workers).filter((r) => r.type === 'google_compute_region_autoscaler');
  if (scalers.length !== 1) {
    fail(`modules/workers: ${scalers.length} google_compute_region_autoscaler resources, not 1`);
    return 'no autoscaler';
  }
  const policy = first(scalers[0].body.autoscaling_policy) || {};
  const metric = first(policy.metric) || {};
  if (typeof metric.single_instance_assignment === 'undefined') {
    fail(`modules/workers: ${scalers[0].addr} has no single_instance_assignment (per-instance target)`);
  }
  const call = tree.env.module.workers || {};
  const follow = (attr, what) => {
    const v = varName(metric[attr]);
    const passed = v && call[v];
    const m = /^\$\{module\.metrics\.([A-Za-z0-9_]+)\}$/.exec(passed || '');
    const out = m && metrics.output[m[1]];
    if (!out) {
      fail(`the autoscaler's metric ${attr} is ${metric[attr]}, not the metrics module's ${what}` +
        (v ? ` (${ENV} passes ${v} = ${passed})` : ' passed in by the environment'));
      return null;
    }
    return resolveLocals(out.value, metrics.locals);
  };
  const name = follow('name', 'exported metric');
  const filter = follow('filter', 'filter');
  if (!name || !filter) {
    return 'autoscaler metric not wired';
  }
  // bizoope exports the gauge; the Ops Agent writes a Prometheus gauge NAME as
  // prometheus.googleapis.com/NAME/gauge on prometheus_target, job = the scrape job's name.
  const activity = fs.readFileSync(path.join(SRC, 'coordinator', 'activity.c'), 'utf8');
  const gauge = /metrics_gauge\(\s*m,\s*"(bizoope_shard_backlog)"/.exec(activity);
  if (!gauge) {
    fail('coordinator/activity.c no longer exports the gauge bizoope_shard_backlog');
    return 'gauge gone';
  }
  const expected = `prometheus.googleapis.com/${gauge[1]}/gauge`;
  if (name !== expected) {
    fail(`modules/metrics exports ${name}, but the Ops Agent makes ${expected} of the coordinator's gauge`);
  }
  const job = /resource\.label\.job = "([^"]+)"/.exec(filter);
  if (!/resource\.type = "prometheus_target"/.test(filter) || !job) {
    fail(`modules/metrics filter ${filter} does not select resource.type prometheus_target and a job`);
    return `metric ${name}`;
  }
  // the coordinator's Ops Agent config scrapes under that job name
  const rendering = /templatefile\("\$\{path\.module\}\/([^"]+)",\s*\{([^}]*)\}/s.exec(
    metrics.locals.coordinator_ops_agent_config || '',
  );
  const jobArg = rendering && /\bjob\s*=\s*local\.([A-Za-z0-9_]+)/.exec(rendering[2]);
  const tpl = rendering && path.join(metrics.dir, rendering[1]);
  if (!jobArg || metrics.locals[jobArg[1]] !== job[1] || !fs.existsSync(tpl) ||
      !/job_name:\s*\$\{job\}/.test(fs.readFileSync(tpl, 'utf8')) ||
      !fs.readFileSync(tpl, 'utf8').includes('type: prometheus')) {
    fail(`the coordinator's Ops Agent configuration does not scrape /metrics as job "${job[1]}" with the prometheus receiver`);
  }
  if ((tree.env.module.coordinator || {}).ops_agent_config !== '${module.metrics.coordinator_ops_agent_config}') {
    fail(`${ENV}: the coordinator does not get module.metrics.coordinator_ops_agent_config`);
  }
  return `autoscaler metric ${name} = modules/metrics' export = the Ops Agent's name for coordinator/activity.c's ${gauge[1]}, job "${job[1]}"`;
}

// A regional group the autoscaler drives: proactive redistribution left on (the autoscaler does
// not work on a regional group without it), and the surge equal to the zones the group really
// uses (a regional group's maxSurge must be 0 or at least its zone count): review A1, A9.
function checkRegionalScaling(tree, fail) {
  const workers = tree.modules.workers;
  const groups = resourcesOf(workers).filter(
    (r) => r.type === 'google_compute_region_instance_group_manager');
  for (const g of groups) {
    const policy = first(g.body.update_policy) || {};
    const redistribution = policy.instance_redistribution_type;
    if (typeof redistribution !== 'undefined' && redistribution !== 'PROACTIVE') {
      fail(`modules/workers: ${g.addr} sets instance_redistribution_type ${redistribution}: ` +
        'an autoscaled regional group needs PROACTIVE (the default)');
    }
    const surge = policy.max_surge_fixed;
    const zones = g.body.distribution_policy_zones;
    const count = workers.locals.zone_count;
    if (!(surge === 0 || surge === '0' ||
          (surge === '${local.zone_count}' && zones === '${local.zones}' &&
           count === '${length(local.zones)}'))) {
      fail(`modules/workers: ${g.addr} surges by ${surge}, not 0 nor the count of the zones it ` +
        `uses (distribution_policy_zones ${zones}, zone_count ${count})`);
    }
  }
  return `${groups.length} regional group(s): redistribution proactive, surge = zones used`;
}

function checkLogSink(tree, fail) {
  const logs = tree.modules.logs;
  const all = resourcesOf(logs);
  const sinks = all.filter((r) => r.type === 'google_logging_project_sink');
  const datasets = all.filter((r) => r.type === 'google_bigquery_dataset');
  if (sinks.length !== 1 || datasets.length !== 1) {
    fail(`modules/logs: ${sinks.length} log sink(s) and ${datasets.length} dataset(s), one of each expected`);
    return '';
  }
  const sink = sinks[0];
  const ds = datasets[0];
  const dsRef = `\${google_bigquery_dataset.${ds.name}.dataset_id}`;
  if (sink.body.destination !== `bigquery.googleapis.com/projects/\${var.project_id}/datasets/${dsRef}`) {
    fail(`modules/logs: ${sink.addr} writes to ${sink.body.destination}, not the module's dataset`);
  }
  if (!((first(sink.body.bigquery_options) || {}).use_partitioned_tables === true)) {
    fail(`modules/logs: ${sink.addr} does not use partitioned tables (one table per day instead)`);
  }
  if (sink.body.unique_writer_identity !== true) {
    fail(`modules/logs: ${sink.addr} writes as the shared Cloud Logging identity (unique_writer_identity)`);
  }
  const filter = resolveLocals(String(sink.body.filter || ''), logs.locals);
  if (!/bizoope-/.test(filter)) {
    fail(`modules/logs: ${sink.addr} has a filter that does not select bizoope's units: ${filter}`);
  }
  const expiry = String(ds.body.default_partition_expiration_ms || '');
  if (!/var\.retention_days/.test(expiry)) {
    fail(`modules/logs: ${ds.addr} keeps partitions forever or not by var.retention_days (${expiry || 'unset'})`);
  }
  const grants = all.filter((r) => IAM_TYPE_RE.test(r.type));
  const writer = `\${google_logging_project_sink.${sink.name}.writer_identity}`;
  const good = grants.filter((g) => g.type === 'google_bigquery_dataset_iam_member' &&
    g.body.member === writer && g.body.role === 'roles/bigquery.dataEditor' &&
    g.body.dataset_id === dsRef);
  if (good.length !== 1 || grants.length !== 1) {
    fail(`modules/logs: the sink's writer identity needs exactly one grant, dataEditor on ${ds.addr} (found ${grants.map((g) => g.addr).join(', ') || 'none'})`);
  }
  const call = (tree.env.module || {}).logs;
  const args = first(call) || {};
  if (!call || !/var\./.test(String(args.retention_days || ''))) {
    fail(`${ENV}: module "logs" is not called with a retention the operator sets`);
  }
  return `${sink.addr}: filter on bizoope's units, partitioned tables in ${ds.addr} (partitions expire by var.retention_days), writer identity dataEditor on that dataset only`;
}

function checkHealth(tree, fail) {
  let n = 0;
  for (const cfg of places(tree)) {
    const checks = resourcesOf(cfg).filter((r) => r.type === 'google_compute_health_check');
    for (const r of checks) {
      n++;
      if ((first(r.body.http_health_check) || {}).request_path !== '/healthz') {
        fail(`${cfg.label}: ${r.addr} does not request /healthz`);
      }
    }
    if (checks.length > 0) {
      const admitted = resourcesOf(cfg).some(
        (r) => r.type === 'google_compute_firewall' &&
          HEALTH_CHECK_RANGES.every((c) => allText(r.body.source_ranges).includes(c) ||
            (r.body.source_ranges === '${local.health_check_ranges}' && allText(cfg.locals.health_check_ranges).includes(c))),
      );
      if (!admitted) {
        fail(`${cfg.label}: no firewall rule admits Google's health checkers (${HEALTH_CHECK_RANGES.join(', ')})`);
      }
    }
  }
  return `${n} health checks on /healthz, their modules open to ${HEALTH_CHECK_RANGES.join(' and ')}`;
}

function checkWiring(tree, fail) {
  let args = 0;
  let refs = 0;
  const env = tree.env;
  for (const [name, call] of Object.entries(env.module)) {
    const target = MODULES.find((m) => call.source === `../../modules/${m}`);
    if (!target) {
      fail(`${ENV}: module "${name}" has source ${call.source}, not one of ../../modules/*`);
      continue;
    }
    const mod = tree.modules[target];
    for (const arg of Object.keys(call).filter((k) => k !== '_file' && !META_ARGS.has(k))) {
      args++;
      if (!mod.variable[arg]) {
        fail(`${ENV}: module "${name}" passes ${arg}, which modules/${target} does not declare`);
      }
    }
    for (const [v, decl] of Object.entries(mod.variable)) {
      if (!('default' in decl) && !(v in call)) {
        fail(`${ENV}: module "${name}" does not pass the required variable ${v} of modules/${target}`);
      }
    }
  }
  for (const cfg of places(tree)) {
    const localNames = new Set(Object.keys(cfg.locals));
    eachString(cfg, (s) => {
      for (const m of s.matchAll(/\bvar\.([A-Za-z0-9_]+)/g)) {
        refs++;
        if (!cfg.variable[m[1]]) {
          fail(`${cfg.label}: var.${m[1]} is not declared`);
        }
      }
      for (const m of s.matchAll(/\blocal\.([A-Za-z0-9_]+)/g)) {
        refs++;
        if (!localNames.has(m[1])) {
          fail(`${cfg.label}: local.${m[1]} is not defined`);
        }
      }
      for (const m of s.matchAll(/\bmodule\.([A-Za-z0-9_]+)(?:\[[^\]]*\])?\.([A-Za-z0-9_]+)/g)) {
        refs++;
        const call = env.module[m[1]];
        const target = call && MODULES.find((x) => call.source === `../../modules/${x}`);
        if (cfg !== env || !target || !tree.modules[target].output[m[2]]) {
          fail(`${cfg.label}: module.${m[1]}.${m[2]} is not an output of a module called here`);
        }
      }
    });
  }
  const tfvars = tree.tfvars || {};
  for (const k of Object.keys(tfvars)) {
    if (!env.variable[k]) {
      fail(`${ENV}/${TFVARS}: sets ${k}, which is not a variable`);
    }
  }
  for (const [v, decl] of Object.entries(env.variable)) {
    if (!('default' in decl) && !(v in tfvars)) {
      fail(`${ENV}/${TFVARS}: does not set the required variable ${v}`);
    }
  }
  return `${Object.keys(env.module).length} module calls, ${args} arguments, ${refs} var./local./module. references and ${Object.keys(tfvars).length} tfvars settings resolve`;
}

const CHECKS = [
  ['0', 'layout', checkLayout],
  ['1', 'variables have type and description', checkVariables],
  ['2', 'every site gets its resources', checkSites],
  ['3', 'site accounts only on their own bucket', checkIamIsolation],
  ['4', 'no service-account keys', checkNoKeys],
  ['5', 'buckets: uniform access, public access prevention', checkBuckets],
  ['6', 'interface bucket labelled site_id', checkSiteLabel],
  ['7', 'autoscaler metric = exported metric', checkAutoscalerMetric],
  ['8', 'health checks', checkHealth],
  ['9', 'wiring', checkWiring],
  ['10', 'autoscaled regional group can scale', checkRegionalScaling],
  ['11', "logs kept beyond Cloud Logging's 30 days", checkLogSink],
];

// Runs every check on the tree at tfRoot: [{id, title, summary, failures: [...]}].
async function runChecks(tfRoot) {
  let tree;
  try {
    tree = await loadTree(tfRoot);
  } catch (e) {
    return [{ id: 'parse', title: 'HCL parses', summary: '', failures: [e.message] }];
  }
  return CHECKS.map(([id, title, fn]) => {
    const failures = [];
    let summary;
    try {
      summary = fn(tree, (msg) => failures.push(msg));
    } catch (e) {
      failures.push(`check crashed: ${e.stack || e}`);
    }
    return { id, title, summary, failures };
  });
}

// ---- bad fixtures ---------------------------------------------------------------------------
// Each edits a copy of deploy/ and names the one check that must refuse it.

function edit(file, from, to) {
  return (dir) => {
    const p = path.join(dir, file);
    const text = fs.readFileSync(p, 'utf8');
    if (!text.includes(from)) {
      throw new Error(`fixture out of date: ${file} no longer contains ${JSON.stringify(from)}`);
    }
    fs.writeFileSync(p, text.replace(from, to));
  };
}

function append(file, text) {
  return (dir) => fs.appendFileSync(path.join(dir, file), text);
}

const FIXTURES = [
  {
    name: 'a log sink writing one table per day (no partitioned tables)',
    expect: '11',
    apply: edit('modules/logs/main.tf', 'use_partitioned_tables = true', 'use_partitioned_tables = false'),
  },
  {
    name: 'log partitions that never expire',
    expect: '11',
    apply: edit('modules/logs/main.tf', '  default_partition_expiration_ms = var.retention_days * 24 * 60 * 60 * 1000\n', ''),
  },
  {
    name: "the log sink's identity made a project-wide editor",
    expect: '11',
    apply: append('modules/logs/main.tf',
      '\nresource "google_project_iam_member" "sink_everywhere" {\n  project = var.project_id\n  role    = "roles/bigquery.dataEditor"\n  member  = google_logging_project_sink.bizoope.writer_identity\n}\n'),
  },
  {
    name: 'regional workers without proactive redistribution (the autoscaler would be inert)',
    expect: '10',
    apply: edit('modules/workers/main.tf', '    max_unavailable_fixed = 0\n',
      '    max_unavailable_fixed = 0\n    instance_redistribution_type = "NONE"\n'),
  },
  {
    name: 'a surge that guesses three zones',
    expect: '10',
    apply: edit('modules/workers/main.tf', 'zone_count = length(local.zones)', 'zone_count = 3'),
  },
  {
    name: 'a variable without description',
    expect: '1',
    apply: append('modules/storage/variables.tf', '\nvariable "oops" {\n  type    = string\n  default = ""\n}\n'),
  },
  {
    name: 'a service-account key for a partner',
    expect: '4',
    apply: append('modules/site/main.tf',
      '\nresource "google_service_account_key" "partner" {\n  service_account_id = google_service_account.site.name\n}\n'),
  },
  {
    name: "a grant for the site's account on another site's bucket",
    expect: '3',
    apply: (dir) => {
      append('modules/site/variables.tf',
        '\nvariable "other_site_bucket" {\n  type        = string\n  default     = "other-if-osaka-2"\n  description = "x"\n}\n')(dir);
      append('modules/site/main.tf',
        '\nresource "google_storage_bucket_iam_member" "other" {\n  bucket = var.other_site_bucket\n' +
        '  role   = "roles/storage.objectCreator"\n' +
        '  member = "serviceAccount:${google_service_account.site.email}"\n}\n')(dir);
    },
  },
  {
    name: "a project-level role for the site's account",
    expect: '3',
    apply: append('modules/site/main.tf',
      '\nresource "google_project_iam_member" "site_reader" {\n  project = var.project_id\n' +
      '  role    = "roles/storage.objectViewer"\n' +
      '  member  = "serviceAccount:${google_service_account.site.email}"\n}\n'),
  },
  {
    name: "a site's account on a shared bucket",
    expect: '3',
    apply: (dir) => {
      append('modules/storage/variables.tf',
        '\nvariable "site_sa_email" {\n  type        = string\n  default     = ""\n  description = "x"\n}\n')(dir);
      append('modules/storage/main.tf',
        '\nresource "google_storage_bucket_iam_member" "site_reads_load" {\n' +
        '  bucket = google_storage_bucket.load.name\n  role   = "roles/storage.objectViewer"\n' +
        '  member = "serviceAccount:${var.site_sa_email}"\n}\n')(dir);
    },
  },
  {
    name: 'a bucket without public access prevention',
    expect: '5',
    apply: edit('modules/storage/main.tf', 'public_access_prevention    = "enforced"', 'public_access_prevention    = "inherited"'),
  },
  {
    name: 'a bucket with fine-grained ACLs',
    expect: '5',
    apply: edit('modules/site/main.tf', 'uniform_bucket_level_access = true', 'uniform_bucket_level_access = false'),
  },
  {
    name: 'an interface bucket without the site_id label',
    expect: '6',
    apply: edit('modules/site/main.tf', 'labels = merge(var.labels, { site_id = var.site_id })', 'labels = var.labels'),
  },
  {
    name: 'the metrics module exporting another metric name',
    expect: '7',
    apply: edit('modules/metrics/main.tf', '"prometheus.googleapis.com/${local.backlog_gauge}/gauge"', '"custom.googleapis.com/bizoope/shard_backlog"'),
  },
  {
    name: 'an autoscaler on a metric of its own',
    expect: '7',
    apply: edit('modules/workers/main.tf', 'name                       = var.backlog_metric', 'name                       = "custom.googleapis.com/bizoope/shard_backlog"'),
  },
  {
    name: 'a tfvars example with one site',
    expect: '2',
    apply: edit(`${ENV}/${TFVARS}`, '  "osaka-2",\n  "nagoya-3",\n', ''),
  },
  {
    name: 'a site id that is no bucket-name part',
    expect: '2',
    apply: edit(`${ENV}/${TFVARS}`, '"osaka-2"', '"Osaka_2"'),
  },
  {
    name: 'the site module without for_each',
    expect: '2',
    apply: edit(`${ENV}/main.tf`, '  for_each = toset(var.sites)\n', ''),
  },
  {
    name: 'a health check on another path',
    expect: '8',
    apply: edit('modules/workers/main.tf', 'request_path = "/healthz"', 'request_path = "/"'),
  },
  {
    name: 'a module argument the module does not declare',
    expect: '9',
    apply: edit(`${ENV}/main.tf`, '  errors_prefix         = var.errors_prefix\n', '  errors_prefix         = var.errors_prefix\n  error_prefix          = var.errors_prefix\n'),
  },
  {
    name: 'a file without its header comment',
    expect: '0',
    apply: edit('modules/kafka/outputs.tf', '# modules/kafka/outputs.tf', '\n\noutput "x" {\n  value = 1\n}\n#'),
  },
];

async function selfTest(deployDir) {
  const results = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'check-terraform-'));
  try {
    for (const [i, fx] of FIXTURES.entries()) {
      const copy = path.join(tmp, String(i), 'deploy');
      fs.cpSync(deployDir, copy, { recursive: true });
      let outcome;
      try {
        fx.apply(path.join(copy, 'terraform'));
        const failed = (await runChecks(path.join(copy, 'terraform'))).filter((c) => c.failures.length > 0);
        const ids = failed.map((c) => c.id);
        if (ids.length === 0) {
          outcome = { ok: false, why: 'accepted: no check failed' };
        } else if (ids.length !== 1 || ids[0] !== fx.expect) {
          outcome = { ok: false, why: `refused by (${ids.join('), (')}) instead of (${fx.expect}) alone: ${failed.map((c) => c.failures[0]).join(' | ')}` };
        } else {
          outcome = { ok: true, why: failed[0].failures[0] };
        }
      } catch (e) {
        outcome = { ok: false, why: e.message };
      }
      results.push(Object.assign({ fixture: fx.name, expect: fx.expect }, outcome));
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return results;
}

// ---- main -----------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  const deployDir = path.join(SRC, 'deploy');
  const tfRoot = path.join(deployDir, 'terraform');
  console.log(`check_terraform: ${path.relative(SRC, tfRoot)} parsed with @cdktf/hcl2json ${HCL_VERSION} (HashiCorp HCL, WebAssembly)`);

  let bad = 0;
  for (const c of await runChecks(tfRoot)) {
    if (c.failures.length === 0) {
      console.log(`  ok    (${c.id}) ${c.title}: ${c.summary}`);
    } else {
      bad++;
      console.log(`  FAIL  (${c.id}) ${c.title}:`);
      for (const f of c.failures) {
        console.log(`          - ${f}`);
      }
    }
  }

  console.log(`check_terraform: self-test, ${FIXTURES.length} bad fixtures (copies of deploy/ with one fault each)`);
  let badFixtures = 0;
  for (const r of await selfTest(deployDir)) {
    if (r.ok) {
      console.log(`  ok    ${r.fixture}: refused by (${r.expect}): ${r.why}`);
    } else {
      badFixtures++;
      console.log(`  FAIL  ${r.fixture}: expected check (${r.expect}) to refuse it; ${r.why}`);
    }
  }

  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (bad > 0 || badFixtures > 0) {
    console.log(`check_terraform: FAILED - ${bad} of ${CHECKS.length} checks failed, ${badFixtures} of ${FIXTURES.length} bad fixtures not refused as expected (${secs} s)`);
    process.exit(1);
  }
  console.log(`check_terraform: all ${CHECKS.length} checks hold; all ${FIXTURES.length} bad fixtures refused, each by its own check (${secs} s)`);
}

main().catch((e) => {
  console.error(`check_terraform: ${e.stack || e}`);
  process.exit(1);
});
