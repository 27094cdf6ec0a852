// k8s_schema.mjs: checks each directory of Kubernetes manifests (deploy/k8s,
// deploy/k8s-postgresql) against the Kubernetes API's own
// OpenAPI schemas, as compiled by the npm package kubernetes-models
// (generated from Kubernetes 1.36.0's OpenAPI: types, required fields, enums and
// formats of every kind). Each document of each manifest is validated by
// the model of its apiVersion and kind; a kind without one fails, except
// kustomize's own Kustomization, whose resources must name the other
// files. Then the check proves it can fail: copies of the Deployment with
// a port lacking containerPort and with replicas as a string must be
// refused.
// Usage: node k8s_schema.mjs DIR..., from a copy beside the
// node_modules the packages are in (ES modules resolve from the script).
import fs from 'fs';
import path from 'path';
import YAML from 'yaml';

let passed = 0;
let failed = 0;
function check(ok, what) {
  if (ok) passed++;
  else failed++;
  console.log((ok ? 'ok   ' : 'FAIL ') + what);
}

async function problems(o) {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const spec = 'kubernetes-models/' + (group ? group + '/' : '') + version + '/' + o.kind;
  let M;
  try {
    M = await import(spec);
  } catch (e) {
    return 'no schema for ' + o.apiVersion + ' ' + o.kind;
  }
  try {
    new (M[o.kind] || M.default)(o).validate();
    return '';
  } catch (e) {
    return e.message.split('\n')[0].slice(0, 300);
  }
}

async function checkDir(dir) {
  const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  const where = path.basename(dir) + '/';
  const name = path.basename(dir);
  let deployment = null;
  for (const f of files) {
    const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJSON());
    for (const o of docs) {
      if (!o) continue;
      if (o.kind === 'Kustomization') {
        const others = files.filter((x) => x !== f);
        check(JSON.stringify([...(o.resources || [])].sort()) === JSON.stringify(others),
          where + f + ': Kustomization lists every other manifest (' + (o.resources || []).join(', ') + ')');
        continue;
      }
      if (o.kind === 'Deployment') deployment = o;
      const why = await problems(o);
      check(!why, where + f + ': ' + o.apiVersion + ' ' + o.kind + ' ' + (o.metadata && o.metadata.name) +
        ' is valid against Kubernetes 1.36' + (why ? ': ' + why : ''));
    }
  }
  check(deployment !== null, name + ' holds a Deployment');
  if (deployment) {
    const noPort = structuredClone(deployment);
    delete noPort.spec.template.spec.containers[0].ports[0].containerPort;
    check(/containerPort/.test(await problems(noPort)), name + ': a port without containerPort is refused');
    const textReplicas = structuredClone(deployment);
    textReplicas.spec.replicas = String(textReplicas.spec.replicas || 2);
    check(/replicas/.test(await problems(textReplicas)), name + ': replicas as a string is refused');
  }
}

const dirs = process.argv.slice(2);
check(dirs.length > 0, 'at least one directory of manifests given');
for (const dir of dirs) await checkDir(dir);
console.log(passed + ' passed, ' + failed + ' failed');
process.exitCode = failed || !passed ? 1 : 0;
