// One JSON request to the console's API, for every page: the session cookie goes along, a
// body is sent as JSON, and the answer comes back as { status, data } (status 0 when the
// server could not be reached, with `offline` as the message).

export async function requestJson(method, path, body, offline = "无法连接服务器") {
  const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch {
    return { status: 0, data: { message: offline } };
  }
  let data = {};
  try {
    data = await response.json();
  } catch {
    /* an empty or non-JSON body */
  }
  return { status: response.status, data };
}
