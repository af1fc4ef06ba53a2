// Names for ids: departments (everyone may read them) and agents (staff only), read once
// per page load and refreshed on demand.

import { agents, all, current, departments } from "./api";
import type { Agent, Department } from "./gen/support/v1/common_pb";

let departmentList: Promise<Department[]> | null = null;
let agentList: Promise<Agent[]> | null = null;

export function allDepartments(fresh = false): Promise<Department[]> {
  if (fresh || !departmentList) {
    departmentList = all(async (pageToken) => {
      const r = await departments.listDepartments({ pageSize: 100, pageToken });
      return { items: r.departments, next: r.nextPageToken };
    });
    departmentList.catch(() => (departmentList = null));
  }
  return departmentList;
}

/** Every agent, for staff; none for customers (who may not list them). */
export function allAgents(fresh = false): Promise<Agent[]> {
  if (current()?.role === "customer") return Promise.resolve([]);
  if (fresh || !agentList) {
    agentList = all(async (pageToken) => {
      const r = await agents.listAgents({ pageSize: 100, pageToken });
      return { items: r.agents, next: r.nextPageToken };
    });
    agentList.catch(() => (agentList = null));
  }
  return agentList;
}

export async function departmentNames(): Promise<Map<bigint, string>> {
  return new Map((await allDepartments()).map((d) => [d.id, d.name]));
}

export async function agentNames(): Promise<Map<bigint, string>> {
  return new Map((await allAgents()).map((a) => [a.id, `${a.firstName} ${a.lastName}`]));
}
