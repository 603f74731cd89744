// Preloaded with `node --require` to make every native addon fail to load, as on a machine where it was never
// built (the container image): tests/integration/allreduce/without-native-addon.test.ts.
const Module = require('node:module');
Module._extensions['.node'] = (module, filename) => {
  throw new Error(`native addons are blocked in this process (${filename})`);
};
