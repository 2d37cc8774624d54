/**
 * How a lead is named wherever people see it (lists, the lead page, alerts): first and last name, else the full name
 * a "Name" field gave, else an identify call's `name` trait; '' when the profile says none.
 */
export function personName(profile: Readonly<Record<string, string | undefined>>): string {
  return [profile.first_name, profile.last_name].filter(Boolean).join(' ') || profile.full_name || profile.name || '';
}
