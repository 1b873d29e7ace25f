// What this device has already shown the citizen: decisions read and answers to objections read. The home
// page lists a decision or an answer as waiting until its page has been opened here. The server is told
// nothing of it (it knows statuses and dates, not what a person has read), so this is the device's own
// memory, kept in localStorage per signed-in person: a second phone lists them once more.

function storageKey(userId) {
  return `samtal.seen.${userId}`;
}

function load(userId) {
  try {
    const kept = JSON.parse(localStorage.getItem(storageKey(userId)) || "{}");
    return { decisions: kept.decisions || {}, answers: kept.answers || {} };
  } catch (error) {
    return { decisions: {}, answers: {} };
  }
}

function save(userId, seen) {
  try {
    localStorage.setItem(storageKey(userId), JSON.stringify(seen));
  } catch (error) {
    // storage full or turned off: the home lists them again, nothing is lost
  }
}

/** The decision of an application was shown on this device (decided at `at`). */
export function sawDecision(userId, applicationId, at) {
  const seen = load(userId);
  seen.decisions[applicationId] = Math.max(seen.decisions[applicationId] || 0, at);
  save(userId, seen);
}

/** Every answer in a case's documentation up to `at` was shown on this device. */
export function sawAnswers(userId, caseId, at) {
  const seen = load(userId);
  seen.answers[caseId] = Math.max(seen.answers[caseId] || 0, at);
  save(userId, seen);
}

export function decisionUnread(userId, decision) {
  return (load(userId).decisions[decision.application] || 0) < decision.decided_at;
}

export function answerUnread(userId, caseId, answer) {
  return (load(userId).answers[caseId] || 0) < answer.answered_at;
}
