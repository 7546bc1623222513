import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { editAnswerHeaders } from './index.js';

function appAnswering(answer: () => Response): Hono {
  const app = new Hono();
  app.use(async (c, next) => {
    await next();
    editAnswerHeaders(c, (headers) => headers.set('X-Edited', 'yes'));
  });
  app.get('/', () => answer());
  return app;
}

describe('editAnswerHeaders', () => {
  it("edits a handler's answer in place", async () => {
    const response = await appAnswering(() => new Response('body', { status: 201 })).request('/');
    expect(response.status).toBe(201);
    expect(response.headers.get('X-Edited')).toBe('yes');
    expect(await response.text()).toBe('body');
  });

  it('copies an answer whose headers are immutable (Response.redirect), keeping status and location', async () => {
    const response = await appAnswering(() => Response.redirect('https://example.org/next', 303)).request(
      '/',
    );
    expect(response.status).toBe(303);
    expect(response.headers.get('Location')).toBe('https://example.org/next');
    expect(response.headers.get('X-Edited')).toBe('yes');
  });
});
