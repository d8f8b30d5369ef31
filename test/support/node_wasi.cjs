// Runs a WASI preview 1 command module under Node's own WASI implementation:
// an independent reference runtime for comparing outputs.
//   node node_wasi.cjs [--dir HOST::GUEST]... [--env K=V]... MODULE [ARGS...]
const { WASI } = require('wasi');
const fs = require('fs');

const preopens = {};
const env = {};
const argv = process.argv.slice(2);
while (argv.length && argv[0].startsWith('--')) {
  const flag = argv.shift();
  const value = argv.shift();
  if (flag === '--dir') {
    const [host, guest] = value.split('::');
    preopens[guest || host] = host;
  } else if (flag === '--env') {
    const eq = value.indexOf('=');
    env[value.slice(0, eq)] = value.slice(eq + 1);
  } else {
    console.error(`node_wasi: unknown flag ${flag}`);
    process.exit(2);
  }
}
const [file, ...args] = argv;
const wasi = new WASI({ version: 'preview1', args: [file, ...args], env, preopens, returnOnExit: true });
const wasmModule = new WebAssembly.Module(fs.readFileSync(file));
const instance = new WebAssembly.Instance(wasmModule, wasi.getImportObject());
process.exitCode = wasi.start(instance);
