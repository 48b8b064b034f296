import type { Manifest } from '../../deploy/manifest.js';
import { PubSubAdmin } from './admin.js';
import { startPubSubEmulator, type PubSubEmulator } from './emulator.js';
import { EmulatorUnavailableError } from './errors.js';

/** What `.local/stack.json` says about Pub/Sub. */
export interface PubSubInfo {
  emulator_host: string;
  project_id: string;
}

export interface LocalPubSub {
  /** Undefined when the emulator could not start (the stack runs without it). */
  info: PubSubInfo | undefined;
  /** Added to every function's environment (`PUBSUB_EMULATOR_HOST`, `PUBSUB_PROJECT_ID`). */
  env: Record<string, string>;
  /** Creates a push subscription per event function to its local URL, with the manifest's delivery settings. */
  subscribe(functionUrls: Map<string, string>): Promise<void>;
  /** Stops printing dead letters and stops the emulator (the whole process group). */
  stop(): Promise<void>;
}

/** How often the dead-letter subscriptions are read. */
const DEAD_LETTER_POLL_MS = 1000;

/**
 * The Pub/Sub part of the local stack: the official emulator with the manifest's topics,
 * a push subscription per event function as deployed (retry backoff, ack deadline,
 * dead-letter topic and attempts), and a pull subscription per dead-letter topic whose
 * messages are printed. When Java or the emulator is missing it says what to install and
 * the rest of the stack runs without Pub/Sub.
 */
export async function startLocalPubSub({
  manifest,
  projectId = 'local-project',
  out,
  env,
}: {
  manifest: Manifest;
  projectId?: string;
  out: (line: string) => void;
  /** Where gcloud and java are looked up. @default process.env */
  env?: NodeJS.ProcessEnv;
}): Promise<LocalPubSub> {
  let emulator: PubSubEmulator;
  try {
    emulator = await startPubSubEmulator({ projectId, env });
  } catch (error) {
    const why = error instanceof EmulatorUnavailableError ? error.message : `it did not start: ${error instanceof Error ? error.message : String(error)}`;
    out(`[pubsub] running without Pub/Sub (event functions get no messages): ${why}`);
    return { info: undefined, env: {}, subscribe: async () => undefined, stop: async () => undefined };
  }
  const admin = new PubSubAdmin({ host: emulator.host, projectId });
  const polling = new AbortController();
  let printer: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    polling.abort();
    await printer;
    await emulator.stop();
  };
  try {
    for (const topic of manifest.topics) await admin.createTopic(topic);
    const deadLetterTopics = deadLetterTopicsOf(manifest);
    for (const topic of deadLetterTopics) await admin.createSubscription(`${topic}-local-printer`, { topic });
    printer = printDeadLetters(admin, deadLetterTopics, polling.signal, out);
    out(`[pubsub] emulator on ${emulator.host} (project ${projectId}); topics: ${manifest.topics.join(', ') || 'none'}`);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    info: { emulator_host: emulator.host, project_id: projectId },
    env: { PUBSUB_EMULATOR_HOST: emulator.host, PUBSUB_PROJECT_ID: projectId },
    subscribe: async (functionUrls) => {
      for (const fn of manifest.functions) {
        const url = functionUrls.get(fn.name);
        if (fn.trigger.type !== 'topic' || url === undefined) continue;
        const t = fn.trigger;
        // The path carries the topic: functions-framework takes the CloudEvent's source from it.
        await admin.createSubscription(`${fn.name}-push`, {
          topic: t.topic,
          pushEndpoint: `${url}/${admin.topicPath(t.topic)}`,
          ackDeadlineSeconds: t.ackDeadlineSeconds,
          ...(t.retry ? { retryPolicy: { minimumBackoffSeconds: t.minBackoffSeconds, maximumBackoffSeconds: t.maxBackoffSeconds } } : {}),
          ...(t.deadLetterTopic === undefined ? {} : { deadLetterPolicy: { deadLetterTopic: t.deadLetterTopic, maxDeliveryAttempts: t.maxDeliveryAttempts } }),
        });
        out(`[pubsub] ${t.topic} → ${fn.name} (push${t.deadLetterTopic === undefined ? '' : `, dead letters to ${t.deadLetterTopic} after ${t.maxDeliveryAttempts} attempts`})`);
      }
    },
    stop,
  };
}

/** Topics that receive dead letters: those the triggers name, and any topic named `*-dead`. */
export function deadLetterTopicsOf(manifest: Manifest): string[] {
  const named = manifest.functions.flatMap((fn) => (fn.trigger.type === 'topic' && fn.trigger.deadLetterTopic !== undefined ? [fn.trigger.deadLetterTopic] : []));
  return [...new Set([...named, ...manifest.topics.filter((t) => t.endsWith('-dead'))])];
}

async function printDeadLetters(admin: PubSubAdmin, topics: string[], signal: AbortSignal, out: (line: string) => void): Promise<void> {
  while (!signal.aborted && topics.length > 0) {
    for (const topic of topics) {
      try {
        for (const m of await admin.drain(`${topic}-local-printer`, { signal })) {
          out(`[pubsub] DEAD LETTER on ${topic}: message ${m.messageId} published ${m.publishTime} attributes ${JSON.stringify(m.attributes)} data ${m.data}`);
        }
      } catch (error) {
        if (signal.aborted) return;
        out(`[pubsub] reading dead letters of ${topic} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, DEAD_LETTER_POLL_MS);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }
}
