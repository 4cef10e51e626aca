/** What a write must find before it applies (HTTP If-Match / If-None-Match: *). */
export type Precondition =
  | { readonly kind: 'revision'; readonly revision: number }
  | { readonly kind: 'exists' }
  | { readonly kind: 'absent' };

export interface PutValue {
  readonly type: 'PutValue';
  readonly commandId: string;
  readonly key: string;
  readonly value: string;
  readonly precondition?: Precondition;
}

export interface DeleteValue {
  readonly type: 'DeleteValue';
  readonly commandId: string;
  readonly key: string;
  readonly precondition?: Precondition;
}

export type Command = PutValue | DeleteValue;
