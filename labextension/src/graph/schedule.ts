/**
 * Letting the page breathe between slices of main-thread work, so that no task the graph
 * runs (installing a 10,000-node layout, painting its overview) blocks input for long.
 */

interface ISchedulerLike {
  yield?: () => Promise<void>;
}

/** Resolves in a new task, after the page had a chance to handle input and paint:
 * `scheduler.yield()` where the browser has it, else a message to ourselves (a macrotask
 * that, unlike a nested `setTimeout(0)`, is never clamped to 4 ms). */
export function yieldToPage(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: ISchedulerLike }).scheduler;
  if (scheduler?.yield) {
    return scheduler.yield();
  }
  return new Promise(resolve => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
