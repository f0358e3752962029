#!/usr/bin/env node
// Checks Kubernetes v1 Pods against the real schema: the validator that the kubernetes-models package
// generates from Kubernetes' OpenAPI document (io.k8s.api.core.v1.Pod), plus the few ValidatePod rules a
// kubelet applies that an OpenAPI schema cannot say (names, label values).
//
//   node validate-pod.js FILE...
//
// Each FILE holds JSON: one Pod, a list of Pods, or a PodList. Every problem is printed as
// "FILE[#N]: /json/pointer: what", and the exit status is 1 when there is any (2: unreadable input).
// A PodList is checked as one too (io.k8s.api.core.v1.PodList: "FILE[list]: ..."); its items may leave
// out kind and apiVersion, as a kubelet's /pods answer does (the list says what they are).
'use strict';

const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

// The package is installed (npm ci) in schema/ beside this script.
const schemaRequire = createRequire(path.join(__dirname, 'schema', 'package.json'));
let Pod, PodList;
try {
  ({ Pod, PodList } = schemaRequire('kubernetes-models/v1'));
} catch (e) {
  console.error(`validate-pod: kubernetes-models is not installed in ${path.join(__dirname, 'schema')}` +
                ` (run tools/setup-host.sh, or npm ci there): ${e.message}`);
  process.exit(2);
}

// k8s.io/apimachinery/pkg/util/validation
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

function isPortName(s) {
  return s.length <= 15 && /^[-a-z0-9]+$/.test(s) && /[a-z]/.test(s) && !s.includes('--') &&
         !s.startsWith('-') && !s.endsWith('-');
}

function isLabelKey(k) {
  const slash = k.lastIndexOf('/');
  const prefix = slash >= 0 ? k.slice(0, slash) : null;
  const name = slash >= 0 ? k.slice(slash + 1) : k;
  if (prefix !== null && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) return false;
  return name.length <= 63 && QUALIFIED_NAME.test(name);
}

// ValidatePod rules beyond the OpenAPI schema that podhook's conversion must meet: [pointer, message].
function kubeletRules(pod) {
  const out = [];
  const meta = pod.metadata || {};
  const spec = pod.spec || {};
  if (typeof meta.name !== 'string' || meta.name.length > 253 || !DNS1123_SUBDOMAIN.test(meta.name)) {
    out.push(['/metadata/name', 'must be a DNS-1123 subdomain of at most 253 characters']);
  }
  for (const [k, v] of Object.entries(meta.labels || {})) {
    if (!isLabelKey(k)) out.push([`/metadata/labels/${k}`, 'is not a valid label key']);
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) {
      out.push([`/metadata/labels/${k}`, `${JSON.stringify(v)} is not a valid label value`]);
    }
  }
  for (const k of Object.keys(meta.annotations || {})) {
    if (!isLabelKey(k)) out.push([`/metadata/annotations/${k}`, 'is not a valid annotation key']);
  }
  const volumes = new Set();
  (spec.volumes || []).forEach((v, i) => {
    if (typeof v.name !== 'string' || v.name.length > 63 || !DNS1123_LABEL.test(v.name)) {
      out.push([`/spec/volumes/${i}/name`, 'must be a DNS-1123 label']);
    } else if (volumes.has(v.name)) {
      out.push([`/spec/volumes/${i}/name`, `${v.name} is a duplicate`]);
    }
    volumes.add(v.name);
  });
  const containers = new Set();
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) {
    out.push(['/spec/containers', 'must list at least one container']);
  }
  (spec.containers || []).forEach((c, i) => {
    const at = `/spec/containers/${i}`;
    if (typeof c.name !== 'string' || c.name.length > 63 || !DNS1123_LABEL.test(c.name)) {
      out.push([`${at}/name`, 'must be a DNS-1123 label']);
    } else if (containers.has(c.name)) {
      out.push([`${at}/name`, `${c.name} is a duplicate`]);
    }
    containers.add(c.name);
    if (typeof c.image !== 'string' || c.image.trim() === '' || c.image.trim() !== c.image) {
      out.push([`${at}/image`, 'is required, without leading or trailing spaces']);
    }
    const ports = new Set();
    (c.ports || []).forEach((p, k) => {
      if (p.name === undefined) return;
      if (typeof p.name !== 'string' || !isPortName(p.name)) {
        out.push([`${at}/ports/${k}/name`, `${JSON.stringify(p.name)} is not an IANA service name`]);
      } else if (ports.has(p.name)) {
        out.push([`${at}/ports/${k}/name`, `${p.name} is a duplicate in this container`]);
      }
      ports.add(p.name);
    });
    (c.volumeMounts || []).forEach((m, k) => {
      if (!volumes.has(m.name)) out.push([`${at}/volumeMounts/${k}/name`, `${m.name} is not a volume of the pod`]);
    });
  });
  return out;
}

function podsOf(doc) {
  if (Array.isArray(doc)) return doc;
  if (doc && doc.kind === 'PodList') {
    return (Array.isArray(doc.items) ? doc.items : []).map(
      (p) => (p && typeof p === 'object' && p.kind === undefined ? { apiVersion: 'v1', kind: 'Pod', ...p } : p));
  }
  return [doc];
}

// The PodList's own schema (apiVersion, kind, metadata, items): [pointer, message].
function listProblems(doc) {
  const out = [];
  if (doc.apiVersion !== 'v1') out.push(['/apiVersion', 'must be "v1"']);
  if (!Array.isArray(doc.items)) out.push(['/items', 'must be a list']);
  try {
    new PodList({ ...doc, items: podsOf(doc) }).validate();
  } catch (e) {
    for (const err of e.errors || [{ instancePath: '', message: e.message }]) {
      out.push([err.instancePath || '/', `schema: ${err.message}`]);
    }
  }
  return out;
}

let bad = 0;
let badLists = 0;
let checked = 0;
const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node validate-pod.js FILE...');
  process.exit(2);
}
for (const file of files) {
  let doc;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    console.error(`${file}: ${e.message}`);
    process.exit(2);
  }
  if (doc && doc.kind === 'PodList') {
    const problems = listProblems(doc);
    for (const [at, msg] of problems) console.log(`${file}[list]: ${at}: ${msg}`);
    if (problems.length > 0) badLists++;
  }
  podsOf(doc).forEach((pod, n) => {
    const where = `${file}[#${n}]`;
    const problems = [];
    checked++;
    if (!pod || typeof pod !== 'object' || pod.kind !== 'Pod') {
      problems.push(['/kind', 'must be "Pod"']);
    } else {
      try {
        new Pod(pod).validate();
      } catch (e) {
        for (const err of e.errors || [{ instancePath: '', message: e.message }]) {
          const params = err.params && err.params.allowedValues ? ` (${err.params.allowedValues.join(', ')})` : '';
          problems.push([err.instancePath || '/', `schema: ${err.message}${params}`]);
        }
      }
      for (const [at, msg] of kubeletRules(pod)) problems.push([at, `kubelet: ${msg}`]);
    }
    for (const [at, msg] of problems) console.log(`${where}: ${at}: ${msg}`);
    if (problems.length > 0) bad++;
  });
}
console.log(`validate-pod: ${checked - bad} of ${checked} Pods valid`);
if (badLists > 0) console.log(`validate-pod: ${badLists} PodList(s) invalid`);
process.exit(bad + badLists > 0 ? 1 : 0);
