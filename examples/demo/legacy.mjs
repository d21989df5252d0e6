// An Express service, as a team would already have it: plain Express, nothing of Skitai.
// serve.mjs mounts it at /legacy beside the App; it reads the same notes store, so a note
// written through the App is in its feed at once.
import express from 'express';

export function createLegacyApi(store, { version }) {
  const api = express();
  api.get('/notes', async (req, res) => {
    res.json((await store.list()).map(({ id, text, author, at }) => ({ id, text, author, at })));
  });
  api.get('/status', (req, res) => {
    res.json({ server: `Skitai/${version}`, url: req.originalUrl, uptime: Math.round(process.uptime()) });
  });
  return api;
}
