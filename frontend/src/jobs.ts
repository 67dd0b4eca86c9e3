// Server proving jobs followed live: the job's event stream (SSE, resumed with Last-Event-ID
// after a dropped connection or a server restart) drives a progress bar; a job parked as
// `awaiting_input` after a restart gets its input again from this page, which still holds it.
import { get, post, type Job } from "./api";

export interface JobProgress {
  state: Job["state"];
  stage: string;
  done: number;
  total: number;
  etaMs: number | null;
  message: string;
}

/**
 * Starts a job and follows it to the end: resolves with the finished job, rejects with its
 * message if it failed or was cancelled. `input` is what `POST /jobs/{id}/input` needs if the
 * server restarts and asks again (the prompt, or the listing secret).
 */
export async function runJob(body: Record<string, unknown>, input: Record<string, unknown>, onProgress: (p: JobProgress) => void, onStart?: (id: string) => void): Promise<Job> {
  const job = await post<Job>("/jobs", body);
  onStart?.(job.id);
  return follow(job.id, input, onProgress);
}

export function follow(id: string, input: Record<string, unknown>, onProgress: (p: JobProgress) => void): Promise<Job> {
  return new Promise((resolve, reject) => {
    let p: JobProgress = { state: "queued", stage: "queued", done: 0, total: 0, etaMs: null, message: "" };
    let resent = false;
    const es = new EventSource(`/api/v1/jobs/${id}/events`);
    const finish = async (state: string) => {
      es.close();
      const j = await get<Job>(`/jobs/${id}`);
      if (state === "done") resolve(j);
      else reject(new Error(j.message || state));
    };
    es.addEventListener("progress", (ev) => {
      const d = JSON.parse((ev as MessageEvent).data).data;
      p = { ...p, state: "running", stage: d.stage, done: d.done, total: d.total, etaMs: d.etaMs ?? null };
      onProgress(p);
    });
    es.addEventListener("state", async (ev) => {
      const d = JSON.parse((ev as MessageEvent).data).data;
      p = { ...p, state: d.state, message: d.message ?? "" };
      onProgress(p);
      if (d.state === "awaiting_input" && !resent) {
        // The server restarted mid-job and lost what it held in memory: hand it over again.
        resent = true;
        await post(`/jobs/${id}/input`, input).catch((e) => reject(e));
      }
      if (["done", "failed", "cancelled"].includes(d.state)) finish(d.state).catch(reject);
    });
    // EventSource reconnects by itself (with Last-Event-ID); nothing to do on a transient error.
  });
}
