import type { Evaluation, RunReport } from '@gradmesh/shared/internal';

/** The report fields that describe test-set quality, by model kind (and task: a regression reports MAE, RMSE and R², no accuracy). */
export function evaluationFields(kind: RunReport['modelKind'], test: Evaluation, featureSize: number): Pick<RunReport, 'testAccuracy' | 'testLoss' | 'testMae' | 'testRmse' | 'testR2' | 'testReconstructionMse' | 'testNegElbo' | 'testKl' | 'testReconstruction' | 'testPerClass' | 'confusionMatrix'> {
  const fields: ReturnType<typeof evaluationFields> = { testAccuracy: test.accuracy, testLoss: test.loss };
  if (test.regression) {
    fields.testMae = test.regression.mae;
    fields.testRmse = test.regression.rmse;
    fields.testR2 = test.regression.r2;
  }
  if (kind === 'autoencoder' && test.extras['squaredError'] !== undefined) fields.testReconstructionMse = test.extras['squaredError'] / featureSize;
  if (kind === 'vae') {
    fields.testNegElbo = test.loss;
    if (test.extras['kl'] !== undefined) fields.testKl = test.extras['kl'];
    if (test.extras['reconstruction'] !== undefined) fields.testReconstruction = test.extras['reconstruction'];
  }
  if (test.confusion) {
    fields.testPerClass = test.confusion.perClass().map((c) => ({ ...c }));
    fields.confusionMatrix = test.confusion.toJSON().counts.map((row) => [...row]);
  }
  return fields;
}
