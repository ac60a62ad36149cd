import { exitOnEarlyStopSignals } from './lifecycle/early-stop-signals';

// Entry point of the API process. The application is loaded only after the
// early stop-signal handlers are in place.
const releaseEarlySignals = exitOnEarlyStopSignals();
void import('./api.js').then(({ startApi }) => startApi(releaseEarlySignals));
