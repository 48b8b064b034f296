import { EmulatorRequestError } from './errors.js';

/** How a push subscription retries: exponential backoff between the two bounds. */
export interface RetryPolicy {
  minimumBackoffSeconds: number;
  maximumBackoffSeconds: number;
}

/** After `maxDeliveryAttempts` failed deliveries the message is forwarded to `deadLetterTopic`. */
export interface DeadLetterPolicy {
  /** Topic id (in the same project). */
  deadLetterTopic: string;
  maxDeliveryAttempts: number;
}

export interface SubscriptionOptions {
  /** Topic id (in the same project). */
  topic: string;
  /** Push to this URL; a pull subscription when unset. */
  pushEndpoint?: string;
  /** @default 10 (Pub/Sub's default) */
  ackDeadlineSeconds?: number;
  retryPolicy?: RetryPolicy;
  deadLetterPolicy?: DeadLetterPolicy;
}

/** One pulled message, its data decoded as UTF-8. */
export interface PulledMessage {
  ackId: string;
  messageId: string;
  data: string;
  attributes: Record<string, string>;
  publishTime: string;
  deliveryAttempt: number | undefined;
}

interface RawReceived {
  ackId: string;
  deliveryAttempt?: number;
  message: { data?: string; attributes?: Record<string, string>; messageId: string; publishTime: string };
}

/**
 * A small client for the emulator's REST API (the same paths as Pub/Sub's v1 REST API,
 * without auth): what the local stack and the tests need to set up topics and
 * subscriptions and to look at messages. Creating something that exists is not an error
 * (`false`), so setup can run against an emulator that already has it.
 */
export class PubSubAdmin {
  readonly url: string;
  readonly projectId: string;

  constructor({ host, projectId }: { host: string; projectId: string }) {
    this.url = `http://${host}`;
    this.projectId = projectId;
  }

  topicPath(topic: string): string {
    return `projects/${this.projectId}/topics/${topic}`;
  }

  subscriptionPath(subscription: string): string {
    return `projects/${this.projectId}/subscriptions/${subscription}`;
  }

  /** Creates `topic`; false when it already existed. */
  async createTopic(topic: string): Promise<boolean> {
    return this.#create(this.topicPath(topic), {});
  }

  /** Creates `name` on its topic with the given delivery settings; false when it already existed. */
  async createSubscription(name: string, { topic, pushEndpoint, ackDeadlineSeconds = 10, retryPolicy, deadLetterPolicy }: SubscriptionOptions): Promise<boolean> {
    return this.#create(this.subscriptionPath(name), {
      topic: this.topicPath(topic),
      ackDeadlineSeconds,
      ...(pushEndpoint === undefined ? {} : { pushConfig: { pushEndpoint } }),
      ...(retryPolicy === undefined
        ? {}
        : { retryPolicy: { minimumBackoff: `${retryPolicy.minimumBackoffSeconds}s`, maximumBackoff: `${retryPolicy.maximumBackoffSeconds}s` } }),
      ...(deadLetterPolicy === undefined
        ? {}
        : {
            deadLetterPolicy: {
              deadLetterTopic: this.topicPath(deadLetterPolicy.deadLetterTopic),
              maxDeliveryAttempts: deadLetterPolicy.maxDeliveryAttempts,
            },
          }),
    });
  }

  /** The subscription as the emulator stores it. */
  async getSubscription(name: string): Promise<Record<string, unknown>> {
    return (await this.#request('GET', this.subscriptionPath(name))) as Record<string, unknown>;
  }

  async deleteSubscription(name: string): Promise<void> {
    await this.#request('DELETE', this.subscriptionPath(name));
  }

  /** Publishes one message (`data`: text as is, anything else as JSON); resolves with its id. */
  async publish(topic: string, data: unknown, attributes?: Record<string, string>): Promise<string> {
    const text = typeof data === 'string' ? data : JSON.stringify(data);
    const body = await this.#request('POST', `${this.topicPath(topic)}:publish`, {
      messages: [{ data: Buffer.from(text, 'utf8').toString('base64'), ...(attributes === undefined ? {} : { attributes }) }],
    });
    const id = (body as { messageIds?: string[] }).messageIds?.[0];
    if (id === undefined) throw new Error(`Pub/Sub emulator: publish to ${topic} returned no message id`);
    return id;
  }

  /** Pulls what is there now (up to `maxMessages`), without waiting for more. */
  async pull(subscription: string, { maxMessages = 10, signal }: { maxMessages?: number; signal?: AbortSignal } = {}): Promise<PulledMessage[]> {
    const body = (await this.#request('POST', `${this.subscriptionPath(subscription)}:pull`, { maxMessages, returnImmediately: true }, signal)) as {
      receivedMessages?: RawReceived[];
    };
    return (body.receivedMessages ?? []).map((r) => ({
      ackId: r.ackId,
      messageId: r.message.messageId,
      data: Buffer.from(r.message.data ?? '', 'base64').toString('utf8'),
      attributes: r.message.attributes ?? {},
      publishTime: r.message.publishTime,
      deliveryAttempt: r.deliveryAttempt,
    }));
  }

  async acknowledge(subscription: string, ackIds: string[]): Promise<void> {
    if (ackIds.length === 0) return;
    await this.#request('POST', `${this.subscriptionPath(subscription)}:acknowledge`, { ackIds });
  }

  /** Pulls and acknowledges what is there now. */
  async drain(subscription: string, options: { maxMessages?: number; signal?: AbortSignal } = {}): Promise<PulledMessage[]> {
    const messages = await this.pull(subscription, options);
    await this.acknowledge(subscription, messages.map((m) => m.ackId));
    return messages;
  }

  async #create(resource: string, body: object): Promise<boolean> {
    try {
      await this.#request('PUT', resource, body);
      return true;
    } catch (error) {
      if (error instanceof EmulatorRequestError && error.status === 409) return false;
      throw error;
    }
  }

  async #request(method: string, resource: string, body?: object, signal?: AbortSignal): Promise<unknown> {
    const res = await fetch(`${this.url}/v1/${resource}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: signal ?? AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (!res.ok) throw new EmulatorRequestError(method, resource, res.status, text);
    return text === '' ? {} : (JSON.parse(text) as unknown);
  }
}
