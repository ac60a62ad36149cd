import { exitOnEarlyStopSignals } from './lifecycle/early-stop-signals';

// Entry point of the standalone worker. The application is loaded only after
// the early stop-signal handlers are in place.
const releaseEarlySignals = exitOnEarlyStopSignals();
void import('./standalone-worker.js').then(({ startStandaloneWorker }) => startStandaloneWorker(releaseEarlySignals));
