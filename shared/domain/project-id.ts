/**
 * A project id: a letter or digit, then letters, digits, "_", "." or "-"; at most 50 characters.
 * The database holds the same rule (project_registry's CHECK and varchar(50) in 001_schema.sql):
 * this copy gives the operator a one-line message before any round trip.
 */
export const PROJECT_ID_MAX = 50;
const PROJECT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export const isProjectId = (id: string): boolean => PROJECT_ID.test(id) && id.length <= PROJECT_ID_MAX;

export const PROJECT_ID_RULE = `letters, digits, "_", "." and "-", at most ${PROJECT_ID_MAX}`;
