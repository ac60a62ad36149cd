/**
 * Makes a SIGTERM or SIGINT exit the process with code 0 until the returned
 * function is called. An entry point calls this before it loads the
 * application, which takes about a second on a small machine, so that a stop
 * signal in that time ends the process cleanly instead of with exit code 143.
 * No job can have been taken yet.
 *
 * The application calls the returned function after it has registered its own
 * handlers. Node stops listening for a signal when its last listener is
 * removed, and a signal that arrived during a synchronous start-up step but
 * was not yet dispatched would then be lost.
 */
export function exitOnEarlyStopSignals(): () => void {
  const exit = (): never => process.exit(0);
  process.once('SIGTERM', exit);
  process.once('SIGINT', exit);
  return () => {
    process.off('SIGTERM', exit);
    process.off('SIGINT', exit);
  };
}
