import { exitOnEarlyStopSignals } from './lifecycle/early-stop-signals';

// Entry point of the one-shot drain command. The command is loaded only after
// the early stop-signal handlers are in place.
const releaseEarlySignals = exitOnEarlyStopSignals();
void import('./drain-command.js').then(({ main }) => main(process.argv.slice(2), releaseEarlySignals));
