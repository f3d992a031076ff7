// What visitors are told when something fails: plain words, no internals. Operators find the
// details in the log line with the same turn or request id.

export const USER_MESSAGES = {
  internal: "Something went wrong on our side. Please try again.",
  notSent: "Your message could not be sent. Try again.",
  noModel: "The assistant is not available right now. Please try again in a little while.",
  expired: "Your session has expired. Start a new one.",
  interrupted: "The reply was interrupted before it finished. Try again.",
} as const;
