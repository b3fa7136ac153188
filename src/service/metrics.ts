/**
 * `GET /metrics` of `stackhog api`, in Prometheus' text format (prom-client). Two kinds of figure:
 * - the queue as Redis holds it, read at each scrape and the same from every API instance:
 *   `stackhog_jobs{state=...}` (waiting, active, delayed, completed, failed...);
 * - what this instance saw happen since it started, from BullMQ's queue events (every instance sees
 *   every event): `stackhog_jobs_processed_total`, `stackhog_jobs_failed_total`, and histograms of
 *   the analysis time and of submission-to-result latency; plus this instance's uploads by outcome.
 */
import type { Queue, QueueEvents } from 'bullmq';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DumpJobResult } from './jobs.js';

const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;

export interface ServiceMetrics {
  readonly registry: Registry;
  /** Counts one POST /minidump by its outcome (accepted, duplicate, or the 4xx it got). */
  upload(outcome: string): void;
  close(): void;
}

export function serviceMetrics(queue: Queue, events: QueueEvents): ServiceMetrics {
  const registry = new Registry();
  new Gauge({
    name: 'stackhog_jobs',
    help: 'Dump jobs in the queue by state, as Redis holds them now (completed and failed: those still kept)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const counts = await queue.getJobCounts(...STATES);
      for (const state of STATES) this.set({ state }, counts[state] ?? 0);
    },
  });
  const processed = new Counter({ name: 'stackhog_jobs_processed_total', help: 'Dump jobs completed since this API instance started', registers: [registry] });
  const failed = new Counter({ name: 'stackhog_jobs_failed_total', help: 'Dump jobs failed for good (retries spent) since this API instance started', registers: [registry] });
  const analyse = new Histogram({
    name: 'stackhog_job_analyse_seconds',
    help: "Analysis time of completed jobs on the worker's thread",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'stackhog_job_latency_seconds',
    help: 'Submission to result of completed jobs (queueing, retries and analysis)',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const uploads = new Counter({ name: 'stackhog_uploads_total', help: 'POST /minidump requests to this API instance by outcome', labelNames: ['outcome'], registers: [registry] });

  const onCompleted = ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }): void => {
    processed.inc();
    const result = (typeof returnvalue === 'string' ? safeParse(returnvalue) : returnvalue) as DumpJobResult | undefined;
    if (result?.timings) analyse.observe(result.timings.analyse_ms / 1000);
    void queue.getJob(jobId).then((job) => {
      if (job?.finishedOn !== undefined) latency.observe((job.finishedOn - job.timestamp) / 1000);
    }, () => undefined);
  };
  // BullMQ sends 'failed' only when a job moves to the failed set (a retried attempt goes back to
  // waiting or delayed instead).
  const onFailed = (): void => failed.inc();
  events.on('completed', onCompleted);
  events.on('failed', onFailed);
  return {
    registry,
    upload: (outcome) => uploads.inc({ outcome }),
    close() {
      events.off('completed', onCompleted);
      events.off('failed', onFailed);
    },
  };
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
