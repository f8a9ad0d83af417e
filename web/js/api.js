// REST client of docs/design.md §3. Errors come back as ApiError with the contract's code.

import { currentToken } from './token.js';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code || (status === 0 ? 'network' : `http_${status}`);
  }
}

const BASE = '/api/v1';

function headersFor(body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const token = currentToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}

// The answer's data and its headers (paging reads the Link header).
async function exchange(method, path, body) {
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers: headersFor(body),
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (err) {
    throw new ApiError(0, 'network', 'The server cannot be reached');
  }
  if (response.status === 204) return { data: null, headers: response.headers };
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const error = data && typeof data === 'object' ? data.error : null;
    throw new ApiError(response.status, error?.code, error?.message ?? response.statusText);
  }
  return { data, headers: response.headers };
}

async function request(method, path, body) {
  return (await exchange(method, path, body)).data;
}

const seg = encodeURIComponent;

export const api = {
  // One page of the matching users, never all of them (docs/design.md §3): `more` when the
  // answer links a next page.
  findUsers: async (name, limit) => {
    const { data, headers } = await exchange('GET', `/users?name=${seg(name ?? '')}&limit=${limit}`);
    return { users: data, more: /rel="next"/.test(headers.get('Link') ?? '') };
  },
  getUser: (id) => request('GET', `/users/${seg(id)}`),
  createUser: ({ id, name, maxStreams }) => {
    const body = { name };
    if (id) body.id = id;
    if (maxStreams !== undefined && maxStreams !== null) body.maxStreams = maxStreams;
    return request('POST', '/users', body);
  },
  listStreams: (userId) => request('GET', `/users/${seg(userId)}/streams`),
  listVideos: () => request('GET', '/videos'),
  listPlans: () => request('GET', '/plans'),
  stopStream: (userId, streamId) => request('DELETE', `/users/${seg(userId)}/streams/${seg(streamId)}`),
  stopAll: (userId) => request('DELETE', `/users/${seg(userId)}/streams`),
  heartbeat: (userId, streamId) =>
    request('POST', `/users/${seg(userId)}/streams/${seg(streamId)}/heartbeat`),
};
