//! [`FakeQonversion`]: delivers webhook events like Qonversion does.
